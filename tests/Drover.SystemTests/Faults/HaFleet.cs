using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Drover.SystemTests.Clusters;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Faults;

/// <summary>
/// Issue 21's fault tests' setting: three real aggregators on one real PostgreSQL (<see cref="PostgresServer"/>), the
/// first elected before the others start so that every test knows which leads, two agents given all three link
/// addresses, the counter (public, committing only when asked) and a steady load through a follower's gateway. What
/// the tests then break differs (the leader's network to the database, the database itself); the checks afterwards
/// are the same: who leads, in which term, the agents with it, one copy of each instance, no failed request.
/// </summary>
internal sealed class HaFleet(ITestOutputHelper output) : IAsyncDisposable
{
    /// <summary>How a line of an aggregator's log file begins: the time its file sink writes, <c>2026-12-05 02:18:29.137 +00:00</c>.</summary>
    private const string LogTimeFormat = "yyyy-MM-dd HH:mm:ss.fff zzz";

    private const int LogTimeLength = 30;

    private readonly List<HttpClient> _clients = [];
    private readonly PostgresStore _postgres = new();
    private CounterFleet? _counter;

    /// <summary>
    /// The counter's definition: public (callable through the gateway without a key), committing only when asked. The
    /// same each time, so that defining it again changes nothing but proves the write reached the store.
    /// </summary>
    public static object CounterDefinition => new
    {
        runtime = new { type = "process", command = Repository.Counter },
        commitIntervalSeconds = 0,
        @public = true,
    };

    public Fleet Fleet { get; } = new(output);

    public PostgresServer Postgres => _postgres.Server;

    public CounterFleet Counter => _counter ?? throw new InvalidOperationException("the counter is not deployed");

    /// <summary>Starts PostgreSQL and makes the fleet's database, without pooling (a dropped connection is not kept); returns its connection string.</summary>
    public Task<string> StartPostgresAsync() => _postgres.StartAsync();

    /// <summary>Writes <paramref name="connectionString"/> to a file of the fleet's folder, readable only by its owner as the aggregator demands; returns the arguments that put an aggregator on it.</summary>
    public Task<string[]> StoreArgsAsync(string fileName, string connectionString)
        => PostgresStore.ArgsAsync(Path.Combine(Fleet.Directory, fileName), connectionString);

    /// <summary>
    /// Starts the fleet's own aggregator on <paramref name="firstStore"/> alone and waits until it leads (term 1), then
    /// two more on <paramref name="othersStore"/>, and waits until both follow it. Returns the three, the leader first.
    /// </summary>
    public async Task<HaAggregator[]> StartAggregatorsAsync(string[] firstStore, string[] othersStore)
    {
        var process = Fleet.StartAggregator(firstStore);
        var first = new HaAggregator("aggregator", Fleet.HttpPort, Fleet.LinkPort, firstStore, process, LogOf("aggregator"));
        var leads = await WaitForLeaderAsync(first, a => Role(a) == "leader" && Term(a) == 1, "the first aggregator leads in term 1");
        output.WriteLine($"'{first.Name}' leads as '{LeaderId(leads)}' in term 1.");

        var all = new List<HaAggregator> { first };
        foreach (var name in new[] { "aggregator-b", "aggregator-c" })
        {
            var (http, link) = (Ports.Free(), Ports.Free());
            all.Add(new HaAggregator(name, http, link, othersStore, Fleet.StartAggregatorAt(name, http, link, othersStore), LogOf(name)));
        }

        foreach (var follower in all.Skip(1))
        {
            await WaitForLeaderAsync(follower, a => Role(a) == "follower" && LeaderId(a) == LeaderId(leads), $"'{follower.Name}' follows '{first.Name}'");
        }

        return [.. all];
    }

    /// <summary>Starts <paramref name="aggregator"/> again with its name, ports and arguments, as its service manager would after it exited.</summary>
    public HaAggregator Restart(HaAggregator aggregator)
        => aggregator with { Process = Fleet.StartAggregatorAt(aggregator.Name, aggregator.HttpPort, aggregator.LinkPort, aggregator.Args) };

    /// <summary>Starts two agents that know every aggregator's link and waits until both are alive at <paramref name="leader"/>.</summary>
    public async Task StartAgentsAsync(IReadOnlyList<HaAggregator> aggregators, HaAggregator leader)
    {
        var links = aggregators.Select(a => $"{(Fleet.LinkTls ? "https" : "http")}://127.0.0.1:{a.LinkPort}").ToArray();
        Fleet.StartAgent("a1", serverNumber: 1, aggregators: links);
        Fleet.StartAgent("a2", serverNumber: 2, aggregators: links);
        await WaitForAgentsAliveAsync(leader, "both agents are alive at the leader");
    }

    /// <summary>Defines the counter through the fleet's own aggregator and waits until it runs on both agents' nodes (one instance per node); returns the ids of its instances.</summary>
    public async Task<string[]> DeployCounterAsync()
    {
        _counter = new CounterFleet(Fleet);
        using (var response = await Fleet.Http.PutAsJsonAsync("/v1/functions/counter", CounterDefinition))
        {
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        string[] running = [];
        await Fleet.WaitUntilAsync(
            async () =>
            {
                running = (await _counter.InstancesAsync()).Where(CounterFleet.Running).Select(CounterFleet.IdOf).Order(StringComparer.Ordinal).ToArray();
                return running.Length == 2;
            },
            CounterFleet.Timeout,
            "the counter runs on both nodes",
            async () => JsonSerializer.Serialize(await _counter.InstancesAsync()));
        return running;
    }

    /// <summary>
    /// A steady load on the counter through <paramref name="aggregator"/>'s gateway, begun once the gateway has served
    /// one request (before, it may not have read a routing table with a ready instance yet: a 503 that says nothing
    /// about the faults the tests make), and returned once it has served 50.
    /// </summary>
    public static async Task<GatewayLoad> StartLoadAsync(HaAggregator aggregator)
    {
        using (var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{aggregator.HttpPort}"), Timeout = TimeSpan.FromSeconds(5) })
        {
            var last = "no answer";
            await Fleet.WaitUntilAsync(
                async () =>
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/invoke/counter");
                    request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
                    try
                    {
                        using var response = await client.SendAsync(request);
                        last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
                        return response.StatusCode == HttpStatusCode.OK;
                    }
                    catch (TaskCanceledException)
                    {
                        return false; // a slow first answer: asked again
                    }
                },
                CounterFleet.Timeout,
                $"'{aggregator.Name}''s gateway serves the counter",
                () => Task.FromResult(last));
        }

        var load = new GatewayLoad(aggregator.HttpPort, "counter", workers: 4);
        await Fleet.WaitUntilAsync(() => Task.FromResult(load.Answers.Count(a => a.Status == 200) >= 50), CounterFleet.Timeout, $"'{aggregator.Name}''s gateway serves the counter", () => Task.FromResult(load.Describe()));
        return load;
    }

    /// <summary>Waits until <paramref name="load"/> has 50 more answers sent from <paramref name="from"/> on (its clock), so that it ran on past a change.</summary>
    public static Task<TimeSpan> WaitForAnswersSinceAsync(GatewayLoad load, TimeSpan from, string what)
        => Fleet.WaitUntilAsync(() => Task.FromResult(load.Answers.Count(a => a.SentAt >= from) >= 50), CounterFleet.Timeout, what, () => Task.FromResult(load.Describe()));

    /// <summary>Asserts that every instance that ran before runs exactly once now, across every agent's state directory.</summary>
    public void AssertOneCopyEach(string[] instances)
    {
        var copies = Counter.LiveCopies();
        Assert.True(
            copies.Keys.Order(StringComparer.Ordinal).SequenceEqual(instances) && copies.Values.All(c => c == 1),
            $"live copies: {JsonSerializer.Serialize(copies)}; instances before: {string.Join(", ", instances)}");
    }

    /// <summary>A client of <paramref name="httpPort"/> sending the fleet's admin token, waiting <paramref name="timeout"/> (5 s when not given) for each answer; disposed with the fleet.</summary>
    public HttpClient Client(int httpPort, TimeSpan? timeout = null)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = timeout ?? TimeSpan.FromSeconds(5) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Fleet.AdminToken);
        _clients.Add(client);
        return client;
    }

    /// <summary>Waits until <paramref name="at"/>'s <c>GET /v1/leader</c> answers and the answer satisfies <paramref name="condition"/>; returns it.</summary>
    public async Task<JsonElement> WaitForLeaderAsync(HaAggregator at, Func<JsonElement, bool> condition, string what)
        => (await WaitForAnswerAsync(at, "/v1/leader", condition, what)).Answer;

    /// <summary>Waits until both agents are alive at <paramref name="at"/>'s <c>GET /v1/nodes</c>; returns how long it waited.</summary>
    public async Task<TimeSpan> WaitForAgentsAliveAsync(HaAggregator at, string what)
        => (await WaitForAnswerAsync<JsonElement[]>(at, "/v1/nodes", nodes => nodes.Count(n => n.GetProperty("survival").GetString() == "alive") == 2, what)).Waited;

    /// <summary>
    /// Waits until the counter's instances as <paramref name="at"/> lists them (<c>GET /v1/functions/counter/instances</c>,
    /// which a follower forwards to whoever leads) satisfy <paramref name="condition"/>; returns that list.
    /// </summary>
    public async Task<JsonElement[]> WaitForInstancesAsync(HaAggregator at, Func<JsonElement[], bool> condition, string what)
        => (await WaitForAnswerAsync(at, "/v1/functions/counter/instances", condition, what)).Answer;

    /// <summary>Which of <paramref name="aggregators"/> <c>GET /v1/leader</c>'s <paramref name="answer"/> names, by its API's port.</summary>
    public static HaAggregator LeaderOf(IEnumerable<HaAggregator> aggregators, JsonElement answer)
    {
        var api = new Uri(answer.GetProperty("leader").GetProperty("apiUrl").GetString()!);
        return aggregators.Single(a => a.HttpPort == api.Port);
    }

    public static string Role(JsonElement answer) => answer.GetProperty("role").GetString()!;

    public static long Term(JsonElement answer) => answer.GetProperty("term").GetInt64();

    /// <summary>The aggregator id of the leader an answer names; null when it names none.</summary>
    public static string? LeaderId(JsonElement answer)
        => answer.GetProperty("leader") is { ValueKind: JsonValueKind.Object } leader ? leader.GetProperty("aggregatorId").GetString() : null;

    /// <summary>The entries of <paramref name="aggregator"/>'s log whose first line contains <paramref name="text"/>, each with the time it begins with.</summary>
    public static (DateTimeOffset At, string Line)[] LogLines(HaAggregator aggregator, string text)
    {
        var found = new List<(DateTimeOffset, string)>();
        foreach (var line in Fleet.ReadLog(aggregator.Log).Split('\n'))
        {
            if (line.Contains(text, StringComparison.Ordinal) && line.Length > LogTimeLength
                && DateTimeOffset.TryParseExact(line[..LogTimeLength], LogTimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at))
            {
                found.Add((at, line.TrimEnd('\r')));
            }
        }

        return [.. found];
    }

    /// <summary>
    /// Waits until <paramref name="aggregator"/>'s log has an entry containing every one of <paramref name="texts"/>;
    /// returns those entries. Waited for, not read once: an aggregator may answer with what it has done a moment
    /// before its log line about it is written.
    /// </summary>
    public static async Task<(DateTimeOffset At, string Line)[]> WaitForLogAsync(HaAggregator aggregator, params string[] texts)
    {
        (DateTimeOffset At, string Line)[] found = [];
        await Fleet.WaitUntilAsync(
            () =>
            {
                found = LogLines(aggregator, texts[0]).Where(l => texts.All(t => l.Line.Contains(t, StringComparison.Ordinal))).ToArray();
                return Task.FromResult(found.Length > 0);
            },
            TimeSpan.FromSeconds(30),
            $"'{aggregator.Name}' logs '{string.Join("' ... '", texts)}'",
            () => Task.FromResult(Fleet.ReadLog(aggregator.Log)));
        return found;
    }

    public async ValueTask DisposeAsync()
    {
        _counter?.Dispose();
        _clients.ForEach(c => c.Dispose());
        await Fleet.DisposeAsync();
        await _postgres.DisposeAsync();
    }

    /// <summary>Fails at once, with its exit code and what it logged last as an error, when <paramref name="aggregator"/> exited: it will not answer again.</summary>
    private static async Task FailIfExitedAsync(HaAggregator aggregator, string what)
    {
        if (aggregator.Process.HasExited)
        {
            var code = await aggregator.Process.WaitForExitAsync(TimeSpan.FromSeconds(10));
            var errors = Fleet.ReadLog(aggregator.Log).Split('\n').Where(l => l.Contains("[ERR]", StringComparison.Ordinal) || l.Contains("[FTL]", StringComparison.Ordinal)).TakeLast(5);
            Assert.Fail($"'{aggregator.Name}' exited with {code} while waiting until {what}; its last errors:{Environment.NewLine}{string.Join(Environment.NewLine, errors)}");
        }
    }

    /// <summary>
    /// Waits until <paramref name="at"/>'s <c>GET <paramref name="path"/></c> answers 200 with a body that satisfies
    /// <paramref name="condition"/>, failing at once when <paramref name="at"/> exits; returns that body and how long it waited.
    /// </summary>
    private async Task<(T Answer, TimeSpan Waited)> WaitForAnswerAsync<T>(HaAggregator at, string path, Func<T, bool> condition, string what)
    {
        var client = Client(at.HttpPort);
        var last = "no answer";
        T answer = default!;
        var waited = await Fleet.WaitUntilAsync(
            async () =>
            {
                await FailIfExitedAsync(at, what);
                try
                {
                    using var response = await client.GetAsync(path);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
                        return false;
                    }

                    answer = (await response.Content.ReadFromJsonAsync<T>())!;
                    last = JsonSerializer.Serialize(answer);
                    return condition(answer);
                }
                catch (TaskCanceledException)
                {
                    return false; // a slow answer while it takes over: asked again
                }
            },
            CounterFleet.Timeout,
            what,
            () => Task.FromResult($"{last}; '{at.Name}' {(at.Process.HasExited ? "exited" : "runs")}"));
        return (answer, waited);
    }

    private string LogOf(string name) => Path.Combine(Fleet.Directory, name, "aggregator.log");
}
