using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Drover.SystemTests.Clusters;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Faults;

/// <summary>
/// Issue 21: three real aggregators on one real PostgreSQL (<see cref="PostgresServer"/>), two agents given all three
/// addresses, the counter committing its state, and a steady idempotent load through a follower's gateway. The leader
/// is SIGKILLed: another is named within the bound, the load sees no failed request, the instance keeps exactly one
/// running copy with its newest committed state, and the killed aggregator, started again, follows. Skipped, saying
/// why, only where PostgreSQL is not installed.
/// </summary>
[Trait("Category", "Faults")]
[Trait("Suite", HighAvailabilitySuite.Name)]
public sealed class LeaderFailoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>The issue's bound on naming a new leader (the lease is 3 s by default).</summary>
    private static readonly TimeSpan FailoverBound = TimeSpan.FromSeconds(5);

    private readonly Fleet _fleet = new(output);
    private readonly List<HttpClient> _clients = [];
    private PostgresServer? _postgres;
    private CounterFleet? _counter;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _counter?.Dispose();
        _clients.ForEach(c => c.Dispose());
        await _fleet.DisposeAsync();
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task LeaderSigkilledUnderLoad_NewLeaderWithinTheBound_NoFailedRequest_OneCopyWithItsNewestState()
    {
        Skip.If(PostgresServer.MissingReason is not null, PostgresServer.MissingReason);
        _postgres = await PostgresServer.StartAsync();
        var connectionString = await _postgres.CreateDatabaseAsync(pooling: false);
        var connectionFile = Path.Combine(_fleet.Directory, "postgres.conn");
        await File.WriteAllTextAsync(connectionFile, connectionString + "\n");
        File.SetUnixFileMode(connectionFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string[] onPostgres = ["--store", "postgres", "--postgresConnectionStringFile", connectionFile];

        // Three aggregators: the fleet's own and two more, each on its own ports.
        var aggregators = new List<Peer> { new("aggregator", _fleet.HttpPort, _fleet.LinkPort, _fleet.StartAggregator(onPostgres)) };
        foreach (var name in new[] { "aggregator-b", "aggregator-c" })
        {
            var (http, link) = (Ports.Free(), Ports.Free());
            aggregators.Add(new Peer(name, http, link, _fleet.StartAggregatorAt(name, http, link, onPostgres)));
        }

        var links = aggregators.Select(a => $"{(_fleet.LinkTls ? "https" : "http")}://127.0.0.1:{a.LinkPort}").ToArray();
        var first = await WaitForLeaderAsync(aggregators[0], null, "a first leader is elected");
        output.WriteLine($"Leader: {first.GetProperty("leader").GetProperty("aggregatorId").GetString()} (term {first.GetProperty("term").GetInt64()}).");

        // The agents know every aggregator; the followers send them to the leader.
        _fleet.StartAgent("a1", serverNumber: 1, aggregators: links);
        _fleet.StartAgent("a2", serverNumber: 2, aggregators: links);
        var leader = LeaderOf(aggregators, first);
        var leaderApi = Client(leader.HttpPort);
        await Fleet.WaitUntilAsync(
            async () => (await leaderApi.GetFromJsonAsync<JsonElement[]>("/v1/nodes"))!.Count(n => n.GetProperty("survival").GetString() == "alive") == 2,
            CounterFleet.Timeout,
            "both agents are alive at the leader");

        // The counter, through the fleet's client (the first aggregator: the leader, or a follower forwarding to it).
        _counter = new CounterFleet(_fleet);
        await _counter.DeployAsync(commitIntervalSeconds: 0, isPublic: true);
        var instance = await _counter.WaitForInstanceAsync(CounterFleet.Running, "the counter runs");
        var id = CounterFleet.IdOf(instance);
        var port = instance.GetProperty("port").GetInt32();
        long count = 0;
        ulong committed = 0;
        for (var i = 0; i < 2; i++)
        {
            count = await _counter.PostWhenUpAsync(port);
            committed = await _counter.CommitAboveAsync(port, committed, $"count {count} is committed");
        }

        var instancesBefore = (await leaderApi.GetFromJsonAsync<JsonElement[]>("/v1/functions/counter/instances"))!.Select(CounterFleet.IdOf).Order(StringComparer.Ordinal).ToArray();

        // A steady load through a follower's gateway, served from the routing the leader published.
        var follower = aggregators.First(a => a != leader);
        await using var load = new GatewayLoad(follower.HttpPort, "counter", workers: 4);
        await Fleet.WaitUntilAsync(() => Task.FromResult(load.Answers.Count(a => a.Status == 200) >= 50), CounterFleet.Timeout, "the follower's gateway serves the counter", () => Task.FromResult(load.Describe()));

        output.WriteLine($"SIGKILL the leader '{leader.Name}'; the load runs through '{follower.Name}'.");
        var clock = Stopwatch.StartNew();
        leader.Process.Kill();
        var named = await WaitForLeaderAsync(follower, first.GetProperty("leader").GetProperty("aggregatorId").GetString(), "a new leader is named");
        var failover = clock.Elapsed;
        var next = LeaderOf(aggregators, named);
        output.WriteLine($"New leader '{next.Name}' (term {named.GetProperty("term").GetInt64()}) named {failover.TotalMilliseconds:F0} ms after the kill.");

        // The agents come back to the new leader, which sees the instance where it runs, at its committed version. Asked
        // through the follower carrying the load, which forwards to whoever leads: on a starved host a new leader may
        // itself lose its lease and step down, and the next one is asked then.
        var nextApi = Client(follower.HttpPort);
        var agentsBack = await Fleet.WaitUntilAsync(
            async () => (await nextApi.GetFromJsonAsync<JsonElement[]>("/v1/nodes"))!.Count(n => n.GetProperty("survival").GetString() == "alive") == 2,
            CounterFleet.Timeout,
            "both agents are alive at the new leader");
        output.WriteLine($"Both agents alive at the new leader {failover.TotalMilliseconds + agentsBack.TotalMilliseconds:F0} ms after the kill.");
        await Fleet.WaitUntilAsync(
            async () => (await nextApi.GetFromJsonAsync<JsonElement[]>("/v1/functions/counter/instances"))!.Any(i => CounterFleet.IdOf(i) == id && CounterFleet.Running(i) && CounterFleet.StateVersionOf(i) >= committed),
            CounterFleet.Timeout,
            $"the new leader reports '{id}' running at version {committed}");

        // The load goes on past the new leader's own tables (a few passes), then stops: not one request failed.
        await Task.Delay(TimeSpan.FromSeconds(3));
        await load.DisposeAsync();
        output.WriteLine(load.Describe());
        Assert.Empty(load.Failures);
        Assert.Contains(load.Answers, a => a.Status == 200 && a.SentAt > failover);

        // Exactly one running copy of every instance, carrying on from its newest committed state.
        var copies = _counter.LiveCopies();
        Assert.True(copies.Keys.Order(StringComparer.Ordinal).SequenceEqual(instancesBefore) && copies.Values.All(c => c == 1), $"live copies: {JsonSerializer.Serialize(copies)}; instances before the kill: {string.Join(", ", instancesBefore)}");
        JsonElement[] instances = [];
        await Fleet.WaitUntilAsync(async () => (instances = (await nextApi.GetFromJsonAsync<JsonElement[]>("/v1/functions/counter/instances"))!).Length > 0, CounterFleet.Timeout, "the leader lists the instances");
        var now = Assert.Single(instances, i => CounterFleet.IdOf(i) == id);
        var before = count;
        count = await _counter.PostWhenUpAsync(now.GetProperty("port").GetInt32());
        Assert.True(count > before, $"the count went on from {before}: {count}");
        Assert.True(failover <= FailoverBound, $"a new leader was named {failover.TotalMilliseconds:F0} ms after the kill, over the bound of {FailoverBound.TotalMilliseconds} ms");

        // The killed aggregator, started again (as its service manager would), follows the new leader.
        var restarted = leader with { Process = _fleet.StartAggregatorAt(leader.Name == "aggregator" ? "aggregator-again" : leader.Name, leader.HttpPort, leader.LinkPort, onPostgres) };
        var seen = await WaitForLeaderAsync(restarted, null, "the restarted aggregator names the leader");
        Assert.Equal("follower", seen.GetProperty("role").GetString());
        Assert.NotEqual(first.GetProperty("leader").GetProperty("aggregatorId").GetString(), seen.GetProperty("leader").GetProperty("aggregatorId").GetString());
    }

    private HttpClient Client(int httpPort)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(5) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _fleet.ReadToken);
        _clients.Add(client);
        return client;
    }

    /// <summary>Waits until <paramref name="at"/>'s <c>GET /v1/leader</c> names a leader other than <paramref name="other"/>; returns the answer.</summary>
    private async Task<JsonElement> WaitForLeaderAsync(Peer at, string? other, string what)
    {
        var client = Client(at.HttpPort);
        JsonElement answer = default;
        await Fleet.WaitUntilAsync(
            async () =>
            {
                using var response = await client.GetAsync("/v1/leader");
                if (!response.IsSuccessStatusCode)
                {
                    return false;
                }

                answer = await response.Content.ReadFromJsonAsync<JsonElement>();
                return answer.GetProperty("leader") is { ValueKind: JsonValueKind.Object } named && named.GetProperty("aggregatorId").GetString() != other;
            },
            CounterFleet.Timeout,
            what,
            () => Task.FromResult(answer.ValueKind == JsonValueKind.Undefined ? "no answer" : answer.ToString()));
        return answer;
    }

    private static Peer LeaderOf(List<Peer> aggregators, JsonElement answer)
    {
        var api = new Uri(answer.GetProperty("leader").GetProperty("apiUrl").GetString()!);
        return aggregators.Single(a => a.HttpPort == api.Port);
    }

    private sealed record Peer(string Name, int HttpPort, int LinkPort, ChildProcess Process);
}
