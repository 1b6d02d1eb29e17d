using System.Net.Http.Json;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Drover.SystemTests.Shims;
using Xunit.Abstractions;

namespace Drover.SystemTests.Clusters;

/// <summary>
/// Clusters behind the aggregator's gateway under a steady idempotent load: SIGKILLed agents turn
/// their cluster unhealthy and the traffic moves to the others as the decision says so; started again, it comes
/// back after the failback hysteresis; not one request fails throughout.
/// </summary>
public sealed class ClusterFailoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int MonitorPeriodMs = 500;
    private const int FailbackPeriods = 4;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly Fleet _fleet = new(output);
    private readonly Dictionary<string, int> _ports = new(StringComparer.Ordinal);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _fleet.DisposeAsync();

    [Fact]
    public async Task TwoClusters_TwoOfThreeKilled_TrafficMovesOnceUnhealthyAndReturnsAfterHysteresis_NoRequestFails()
    {
        _fleet.StartAggregator("--monitorPeriodMs", $"{MonitorPeriodMs}", "--failbackPeriods", $"{FailbackPeriods}");
        await _fleet.WaitForAggregatorAsync();
        StartAgents(("c1", 3), ("c2", 3));
        await _fleet.WaitForAliveCountAsync(6, Timeout);
        await DefineCounterAsync(6);
        await WaitForHealthAsync("c1", "healthy");
        await WaitForHealthAsync("c2", "healthy");

        await using var load = new GatewayLoad(_fleet.HttpPort, "counter", workers: 4);
        await WaitForTrafficAsync(load, load.Now, ["c1", "c2"]);

        // Kill two of c1's three: below its threshold of ceil(3 × 0.5) = 2.
        var killedAt = load.MarkKill();
        _fleet.AgentProcesses("c1-1").Kill();
        _fleet.AgentProcesses("c1-2").Kill();

        // The routing table is swapped under the same lock as the decision /v1/clusters shows: every
        // request sent once c1 shows unhealthy goes to c2. How soon that is, is the output's to say.
        await WaitForHealthAsync("c1", "unhealthy");
        var failedOverAt = load.Now;
        output.WriteLine($"c1 unhealthy {(failedOverAt - killedAt).TotalMilliseconds:0} ms after the kill");
        await WaitForCountAsync(load, failedOverAt, 200);
        var afterFailover = load.ClustersSince(failedOverAt);
        Assert.True(afterFailover.Keys.SequenceEqual(["c2"]), $"requests sent once c1 was unhealthy went to {Show(afterFailover)}; {load.Describe()}");

        var clusters = await ClustersAsync();
        Assert.Equal("unhealthy", clusters["c1"].GetProperty("health").GetString());
        Assert.Equal(1, clusters["c1"].GetProperty("survivors").GetInt32());
        Assert.Equal(2, clusters["c1"].GetProperty("minSurvivors").GetInt32());
        Assert.Equal(["c2"], clusters["c1"].GetProperty("servedBy").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["c1"], clusters["c2"].GetProperty("servingFor").EnumerateArray().Select(e => e.GetString()));

        // Tasks move too: once the two are lost, their instances resume in c2, the cluster serving c1.
        var c2Nodes = new[] { "c2-1", "c2-2", "c2-3" }.Select(_fleet.NodeIdOf).ToHashSet(StringComparer.Ordinal);
        await Fleet.WaitUntilAsync(
            async () => (await InstanceNodesAsync()).Count(c2Nodes.Contains) == 5,
            Timeout,
            "the instances of c1's lost nodes run in c2",
            async () => string.Join(", ", await InstanceNodesAsync()));

        // Back: c1 recovers, stays healthy for the hysteresis, then takes its traffic and its instances back.
        StartAgent("c1", 1);
        StartAgent("c1", 2);
        await WaitForTrafficAsync(load, load.Now, ["c1", "c2"]);
        // Both moved instances fail back, each by its own decision; the two decisions land a few
        // milliseconds apart (and either may take the other's old node), so wait for the whole end state.
        var home = new[] { "c1-1", "c1-2" }.Select(_fleet.NodeIdOf).ToArray();
        await Fleet.WaitUntilAsync(
            async () =>
            {
                var nodes = await InstanceNodesAsync();
                return home.All(nodes.Contains) && nodes.Count(c2Nodes.Contains) == 3 && await FailbackDecisionsAsync() == 2;
            },
            Timeout,
            "the two instances fail back to c1-1 and c1-2, by two failback decisions",
            async () => $"{string.Join(", ", await InstanceNodesAsync())}; {await FailbackDecisionsAsync()} failback decisions");
        var history = (await _fleet.Http.GetFromJsonAsync<JsonElement[]>("/v1/clusters/c1/history"))!;
        var transitions = history.Select(h => $"{h.GetProperty("from").GetString()}>{h.GetProperty("to").GetString()}").ToArray();
        Assert.Equal(["healthy>unhealthy", "unhealthy>recovering", "recovering>healthy"], transitions);
        var recovering = history[1].GetProperty("at").GetDateTimeOffset();
        var healthy = history[2].GetProperty("at").GetDateTimeOffset();
        Assert.True(healthy - recovering >= TimeSpan.FromMilliseconds(MonitorPeriodMs * FailbackPeriods) - TimeSpan.FromMilliseconds(50), $"failback after {(healthy - recovering).TotalMilliseconds} ms");

        await load.DisposeAsync();
        Assert.True(!load.Failures.Any(), load.Describe());
        output.WriteLine($"{load.Answers.Count} requests, none failed; after the kill: {Show(afterFailover)}");
    }

    [Fact]
    public async Task AllMasters_Weights123_OneFails_SharesAre0_40_60_NoRequestFails()
    {
        _fleet.StartAggregator(
            "--monitorPeriodMs", $"{MonitorPeriodMs}",
            "--clusters:c1:weight", "1", "--clusters:c2:weight", "2", "--clusters:c3:weight", "3",
            "--clusterGroups:default:mode", "all-masters");
        await _fleet.WaitForAggregatorAsync();
        StartAgents(("c1", 1), ("c2", 1), ("c3", 1));
        await _fleet.WaitForAliveCountAsync(3, Timeout);
        await DefineCounterAsync(3);

        // New clusters recover for the failback hysteresis first (fail-open meanwhile): count from the
        // moment the decision gives the weights' shares.
        await using var load = new GatewayLoad(_fleet.HttpPort, "counter", workers: 6);
        await WaitForSharesAsync(("c1", 1 / 6.0), ("c2", 2 / 6.0), ("c3", 3 / 6.0));
        var healthyFrom = load.Now;
        await WaitForCountAsync(load, healthyFrom, 600);
        AssertServedInOrder(load.ClustersSince(healthyFrom), "c1", "c2", "c3");

        load.MarkKill();
        _fleet.AgentProcesses("c1-1").Kill();
        await WaitForSharesAsync(("c1", 0), ("c2", 0.4), ("c3", 0.6));
        var failedFrom = load.Now;
        await WaitForCountAsync(load, failedFrom, 600);
        var afterFailure = load.ClustersSince(failedFrom);
        Assert.False(afterFailure.ContainsKey("c1"), $"c1 answered after it was unhealthy: {Show(afterFailure)}");
        AssertServedInOrder(afterFailure, "c2", "c3");

        await load.DisposeAsync();
        Assert.True(!load.Failures.Any(), load.Describe());
    }

    private void StartAgents(params (string Cluster, int Count)[] clusters)
    {
        foreach (var (cluster, count) in clusters)
        {
            for (var server = 1; server <= count; server++)
            {
                StartAgent(cluster, server);
            }
        }
    }

    /// <summary>Starts (or starts again, same state and port) agent <c>cluster-server</c>.</summary>
    private void StartAgent(string cluster, int server)
    {
        var name = $"{cluster}-{server}";
        if (!_ports.TryGetValue(name, out var port))
        {
            _ports[name] = port = Ports.Free();
        }

        _fleet.StartAgent(name, server, cluster, port, extraArgs: ["--shimListenAddress", "127.0.0.1"]);
    }

    private async Task DefineCounterAsync(int instances)
    {
        using var response = await _fleet.Http.PutAsJsonAsync("/v1/functions/counter", ShimTestBase.Counter(slo: 8));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        await Fleet.WaitUntilAsync(
            async () => (await _fleet.Http.GetFromJsonAsync<JsonElement>("/v1/functions/counter")).GetProperty("instances").EnumerateArray().Count(i => i.GetProperty("ready").GetBoolean()) >= instances,
            Timeout,
            $"{instances} ready instances of counter");
    }

    private async Task<int> FailbackDecisionsAsync()
        => (await _fleet.Http.GetFromJsonAsync<JsonElement[]>("/v1/functions/counter/decisions"))!
            .Count(d => d.GetProperty("reason").GetString()!.StartsWith("failback: home cluster 'c1' serves again", StringComparison.Ordinal));

    /// <summary>The node of every instance of counter (as assigned).</summary>
    private async Task<string[]> InstanceNodesAsync()
        => (await _fleet.Http.GetFromJsonAsync<JsonElement[]>("/v1/functions/counter/instances"))!.Select(i => i.GetProperty("nodeId").GetString()!).ToArray();

    private async Task<Dictionary<string, JsonElement>> ClustersAsync()
    {
        var body = await _fleet.Http.GetFromJsonAsync<JsonElement>("/v1/clusters");
        return body.GetProperty("clusters").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, StringComparer.Ordinal);
    }

    private static Task WaitForTrafficAsync(GatewayLoad load, TimeSpan from, string[] clusters)
        => Fleet.WaitUntilAsync(
            () => Task.FromResult(clusters.All(load.ClustersSince(from).ContainsKey)),
            Timeout,
            $"traffic answered by {string.Join(" and ", clusters)}",
            () => Task.FromResult($"{Show(load.ClustersSince(from))}; {load.Describe()}"));

    private static Task WaitForCountAsync(GatewayLoad load, TimeSpan from, int count)
        => Fleet.WaitUntilAsync(
            () => Task.FromResult(load.ClustersSince(from).Values.Sum() >= count),
            Timeout,
            $"{count} answers",
            () => Task.FromResult(load.Describe()));

    /// <summary>
    /// Waits until the health decision gives exactly these shares (rounded as the API rounds them). How
    /// the gateway spreads requests by those shares is RouteChoiceTests' to pin on a seeded random
    /// source; through real processes on a loaded machine, retries and timing skew a sample, so only
    /// its order is checked.
    /// </summary>
    private Task WaitForSharesAsync(params (string Cluster, double Share)[] expected)
        => Fleet.WaitUntilAsync(
            async () =>
            {
                var clusters = await ClustersAsync();
                return expected.All(e => clusters.TryGetValue(e.Cluster, out var c) && Math.Abs(c.GetProperty("trafficShare").GetDouble() - Math.Round(e.Share, 4)) < 1e-6);
            },
            Timeout,
            $"the shares {string.Join(", ", expected.Select(e => $"{e.Cluster} {Math.Round(e.Share, 4)}"))}",
            async () => string.Join(", ", (await ClustersAsync()).Select(c => $"{c.Key} {c.Value.GetProperty("health").GetString()} {c.Value.GetProperty("trafficShare").GetDouble()}")));

    /// <summary>Every cluster named served requests, each more than the one before it (the weights' order).</summary>
    private void AssertServedInOrder(Dictionary<string, int> counts, params string[] ascending)
    {
        output.WriteLine($"served: {Show(counts)}");
        for (var i = 0; i < ascending.Length; i++)
        {
            var count = counts.GetValueOrDefault(ascending[i]);
            Assert.True(count > 0, $"cluster {ascending[i]} served nothing: {Show(counts)}");
            if (i > 0)
            {
                Assert.True(count > counts.GetValueOrDefault(ascending[i - 1]), $"cluster {ascending[i]} served no more than {ascending[i - 1]}: {Show(counts)}");
            }
        }
    }

    private Task WaitForHealthAsync(string cluster, string health)
        => Fleet.WaitUntilAsync(
            async () => (await ClustersAsync())[cluster].GetProperty("health").GetString() == health,
            Timeout,
            $"cluster {cluster} is {health}");

    private static string Show(Dictionary<string, int> counts)
        => string.Join(", ", counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}: {c.Value}"));
}
