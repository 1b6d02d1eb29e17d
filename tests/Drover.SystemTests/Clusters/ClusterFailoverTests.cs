using System.Net.Http.Json;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Drover.SystemTests.Shims;
using Xunit.Abstractions;

namespace Drover.SystemTests.Clusters;

/// <summary>
/// Clusters behind the aggregator's gateway under a steady idempotent load: SIGKILLed agents turn
/// their cluster unhealthy and the traffic moves to the others within 2 s; started again, it comes
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
    public async Task TwoClusters_TwoOfThreeKilled_TrafficMovesWithin2sAndReturnsAfterHysteresis_NoRequestFails()
    {
        _fleet.StartAggregator("--monitorPeriodMs", $"{MonitorPeriodMs}", "--failbackPeriods", $"{FailbackPeriods}");
        await _fleet.WaitForAggregatorAsync();
        StartAgents(("c1", 3), ("c2", 3));
        await _fleet.WaitForAliveCountAsync(6, Timeout);
        await DefineCounterAsync(6);

        await using var load = new GatewayLoad(_fleet.HttpPort, "counter", workers: 4);
        await WaitForTrafficAsync(load, load.Now, ["c1", "c2"]);

        // Kill two of c1's three: below its threshold of ceil(3 × 0.5) = 2.
        var killedAt = load.Now;
        _fleet.AgentProcesses("c1-1").Kill();
        _fleet.AgentProcesses("c1-2").Kill();
        await Task.Delay(TimeSpan.FromSeconds(3));
        var afterFailover = load.ClustersSince(killedAt + TimeSpan.FromSeconds(2));
        Assert.True(afterFailover.Keys.SequenceEqual(["c2"]), $"requests sent 2 s after the kill went to {Show(afterFailover)}; {load.Describe()}");

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
        var home = new[] { "c1-1", "c1-2" }.Select(_fleet.NodeIdOf).ToArray();
        await Fleet.WaitUntilAsync(
            async () => home.All((await InstanceNodesAsync()).Contains),
            Timeout,
            "the instances fail back to c1-1 and c1-2",
            async () => string.Join(", ", await InstanceNodesAsync()));
        var decisions = await _fleet.Http.GetFromJsonAsync<JsonElement[]>("/v1/functions/counter/decisions");
        Assert.Equal(2, decisions!.Count(d => d.GetProperty("reason").GetString()!.StartsWith("failback: home cluster 'c1' serves again", StringComparison.Ordinal)));
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

        await using var load = new GatewayLoad(_fleet.HttpPort, "counter", workers: 6);
        var healthyFrom = load.Now;
        await WaitForCountAsync(load, healthyFrom, 1500);
        AssertShares(load.ClustersSince(healthyFrom), ("c1", 1 / 6.0), ("c2", 2 / 6.0), ("c3", 3 / 6.0));

        _fleet.AgentProcesses("c1-1").Kill();
        var failedFrom = load.Now + TimeSpan.FromSeconds(2);
        await Task.Delay(TimeSpan.FromSeconds(2));
        await WaitForCountAsync(load, failedFrom, 1500);
        AssertShares(load.ClustersSince(failedFrom), ("c1", 0), ("c2", 0.4), ("c3", 0.6));

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

    /// <summary>Each cluster's share of the answers within 5 points of the expected one.</summary>
    private static void AssertShares(Dictionary<string, int> counts, params (string Cluster, double Share)[] expected)
    {
        var total = (double)counts.Values.Sum();
        foreach (var (cluster, share) in expected)
        {
            var actual = counts.GetValueOrDefault(cluster) / total;
            Assert.True(Math.Abs(actual - share) <= 0.05, $"cluster {cluster}: share {actual:P1}, expected {share:P1} ± 5 points; all: {Show(counts)}");
        }
    }

    private static string Show(Dictionary<string, int> counts)
        => string.Join(", ", counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}: {c.Value}"));
}
