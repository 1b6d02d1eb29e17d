using System.Net;
using System.Text;
using System.Text.Json;
using Drover.Aggregator.Clusters;
using Drover.Aggregator.Events;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Placement;
using Drover.Aggregator.State;
using Drover.Aggregator.Tests.Events;
using Drover.Decisions.Health;
using Drover.Decisions.Scaling;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.State;

/// <summary>
/// The decision memory over a restart of a real aggregator host (<see cref="TestAggregator.RestartAsync"/>:
/// a new host on the same data directory), on a fake clock.
/// </summary>
public sealed class DecisionMemoryRestartTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TestAggregator.Timeout;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private TestAggregator? _aggregator;

    private TestAggregator Aggregator => _aggregator!;

    public async Task InitializeAsync() => _aggregator = await TestAggregator.StartAsync(_time);

    public async Task DisposeAsync()
    {
        if (_aggregator is not null)
        {
            await _aggregator.DisposeAsync();
        }
    }

    [Fact]
    public async Task Restart_NodePenalised_StillPenalisedForWhatIsLeft()
    {
        // Kept as the reconciler keeps a pass's penalties (here no pass penalises: the store is written as it would be).
        Assert.True(Aggregator.Services.GetRequiredService<IDecisionMemoryStore>().SaveNodePenalties(
            new Dictionary<string, DateTimeOffset> { ["node-a"] = _time.GetUtcNow() + NodePenalties.Duration }));
        _time.Advance(TimeSpan.FromSeconds(30));

        await Aggregator.RestartAsync();

        var penalties = Aggregator.Services.GetRequiredService<NodePenalties>();
        Assert.Equal(["node-a"], penalties.Current().Keys);
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Empty(penalties.Current());
    }

    [Fact]
    public async Task Restart_FunctionInAScaleDownWindow_WindowNotReset()
    {
        // Kept as the reconciler keeps a pass's windows (no autoscaled function here, so no pass changes them).
        Assert.True(Aggregator.Services.GetRequiredService<IDecisionMemoryStore>().SaveScalingWindows(
            new Dictionary<string, ScalingPrevious> { ["counter"] = new(TimeSpan.FromSeconds(42)) }));

        await Aggregator.RestartAsync();

        var loaded = Aggregator.Services.GetRequiredService<ScalingWindows>().Loaded;
        Assert.Equal(TimeSpan.FromSeconds(42), Assert.Single(loaded, w => w.Key == "counter").Value.BelowFor);
    }

    [Fact]
    public async Task Restart_ClusterRecovering_HistoryStillListedAndRecoveryGoesOn()
    {
        ConnectNodes();
        await NextEvaluationAsync();
        Assert.Equal("unhealthy", (await PutClusterAsync("""{"minSurvivors": 3}""")).GetProperty("health").GetString());
        Assert.Equal("recovering", (await PutClusterAsync("""{"minSurvivors": 0, "minimumSurvivalRatio": 1}""")).GetProperty("health").GetString());

        await Aggregator.RestartAsync();
        var (n1, n2) = ConnectNodes();
        var back = await NextEvaluationAsync();
        var (_, cluster) = await GetAsync("/v1/clusters/c1");
        var (_, history) = await GetAsync("/v1/clusters/c1/history");

        // Still recovering, and nothing recorded for the restart: not seen for the first time, not flapped.
        Assert.Equal((ClusterHealthState.Recovering, 2), (back.Clusters.Single(c => c.Name == "c1").Health, back.Clusters.Single(c => c.Name == "c1").Survivors));
        Assert.Equal("recovering", cluster.GetProperty("health").GetString());
        Assert.Equal(
            [("healthy", "unhealthy"), ("unhealthy", "recovering")],
            history.EnumerateArray().Select(e => (e.GetProperty("from").GetString(), e.GetProperty("to").GetString())));

        // The rest of the failback wait (3 periods of 1 s), heartbeats keeping the nodes alive.
        var nodes = Aggregator.Services.GetRequiredService<NodeTable>();
        _time.Advance(TimeSpan.FromSeconds(2));
        nodes.RecordHeartbeat("n1", n1, 1, NodeSurvival.Alive, out _);
        nodes.RecordHeartbeat("n2", n2, 1, NodeSurvival.Alive, out _);
        _time.Advance(TimeSpan.FromSeconds(1));
        var failedBack = await NextEvaluationAsync();
        (_, history) = await GetAsync("/v1/clusters/c1/history");

        Assert.Equal(ClusterHealthState.Healthy, failedBack.Clusters.Single(c => c.Name == "c1").Health);
        Assert.Equal(["unhealthy", "recovering", "healthy"], history.EnumerateArray().Select(e => e.GetProperty("to").GetString()));

        // The failback's event is numbered above every number the channel gave before the restart.
        Assert.Equal(EventHub.SequenceBlock + 1, Aggregator.Hub.LastSequence("cluster/c1"));
    }

    [Fact]
    public async Task Restart_ChannelNumbered_NumbersGoOnAboveTheLastOneNeverReused()
    {
        for (var i = 1; i <= 3; i++)
        {
            Aggregator.Hub.Publish(EventHubTests.Event("function/counter", $"before-{i}"));
        }

        await Aggregator.RestartAsync();
        var mark = Aggregator.Hub.LastSequence("function/counter");
        await using var stream = await EventsApiTests.SseStream.OpenAsync(Aggregator.Http, "/v1/events?function=counter", "function/counter:3");
        Aggregator.Hub.Publish(EventHubTests.Event("function/counter", "after"));
        var resumed = Assert.Single(await stream.ReadAsync(1));

        Assert.Equal(EventHub.SequenceBlock, mark);
        Assert.Equal("function/counter:1001", resumed.Id);
        Assert.Equal("after", resumed.Data.RootElement.GetProperty("callId").GetString());
    }

    /// <summary>Nodes n1 and n2 of cluster c1 in the node table, as their agents' Hellos put them there.</summary>
    private (Guid N1, Guid N2) ConnectNodes()
    {
        var nodes = Aggregator.Services.GetRequiredService<NodeTable>();
        var (n1, n2) = (Guid.NewGuid(), Guid.NewGuid());
        Assert.True(nodes.Register(Fleet.NodeTableTests.Node("n1", 1), n1).Accepted);
        Assert.True(nodes.Register(Fleet.NodeTableTests.Node("n2", 2), n2).Accepted);
        return (n1, n2);
    }

    private Task<HealthDecision> NextEvaluationAsync()
        => Aggregator.Services.GetRequiredService<ClusterHealthMonitor>().NextEvaluationAsync().WaitAsync(Timeout);

    private async Task<JsonElement> PutClusterAsync(string json)
    {
        using var put = await Aggregator.Http.PutAsync("/v1/clusters/c1", new StringContent(json, Encoding.UTF8, "application/json")).WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        using var body = JsonDocument.Parse(await put.Content.ReadAsStringAsync().WaitAsync(Timeout));
        return body.RootElement.Clone();
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string path)
    {
        using var response = await Aggregator.Http.GetAsync(path).WaitAsync(Timeout);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WaitAsync(Timeout));
        return (response.StatusCode, body.RootElement.Clone());
    }
}
