using Drover.Aggregator.Clusters;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.Events;
using System.Text.Json;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.State;
using Drover.Aggregator.Tests.State;
using Drover.Decisions.Health;
using Drover.Gateway;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.Clusters;

public sealed class ClusterHealthMonitorTests : IDisposable
{
    private readonly TempDirectory _data = new();
    private readonly FakeTimeProvider _time = new();
    private readonly NodeTable _nodes;
    private readonly GatewayRoutingTable _routes = new();
    private readonly ClusterHealthMonitor _monitor;
    private readonly AggregatorOptions _options;
    private readonly List<SqliteStateStore> _stores = [];

    public ClusterHealthMonitorTests()
    {
        var options = _options = new AggregatorOptions { DataDirectory = _data.Path };
        _nodes = new NodeTable(_time);
        _nodes.Register(Fleet.NodeTableTests.Node("a", 1), Guid.NewGuid());
        _monitor = new ClusterHealthMonitor(
            _nodes,
            new InstanceTable(_time),
            new ClusterRegistry(options),
            new EventHub(options, NullLogger<EventHub>.Instance),
            _routes,
            options,
            _time,
            NullLogger<ClusterHealthMonitor>.Instance);
    }

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }

        _data.Dispose();
    }

    /// <summary>The state store in the test's data directory, opened anew as a restarted aggregator opens it.</summary>
    private SqliteStateStore OpenStore()
    {
        var store = new SqliteStateStore(_data.Path, NullLogger<SqliteStateStore>.Instance);
        _stores.Add(store);
        return store;
    }

    /// <summary>A monitor with its own node table and the memory of <paramref name="store"/>, as a host builds one at its start.</summary>
    private ClusterHealthMonitor Monitor(NodeTable nodes, IDecisionMemoryStore store) => new(
        nodes,
        new InstanceTable(_time),
        new ClusterRegistry(_options),
        new EventHub(_options, NullLogger<EventHub>.Instance),
        new GatewayRoutingTable(),
        _options,
        _time,
        NullLogger<ClusterHealthMonitor>.Instance,
        store);

    private static Guid Connect(NodeTable nodes, string nodeId, int serverNumber, string cluster = "c1")
    {
        var connection = Guid.NewGuid();
        Assert.True(nodes.Register(Fleet.NodeTableTests.Node(nodeId, serverNumber, cluster), connection).Accepted);
        return connection;
    }

    private static ClusterStatus C1(HealthDecision decision) => decision.Clusters.Single(c => c.Name == "c1");

    [Fact]
    public void Preview_HasNoEffect_NoCurrentDecisionNoHistoryNoTable()
    {
        var routesBefore = _routes.Current;

        var decision = _monitor.Preview();

        Assert.Single(decision.Clusters);
        Assert.Null(_monitor.Current);
        Assert.Same(routesBefore, _routes.Current);
    }

    [Fact]
    public async Task NextEvaluationAsync_CompletesWithTheNextEvaluationOnly()
    {
        var first = _monitor.Evaluate();
        var waiting = _monitor.NextEvaluationAsync();
        Assert.False(waiting.IsCompleted);

        var next = _monitor.Evaluate();

        Assert.True(waiting.IsCompletedSuccessfully);
        var answered = await waiting;
        Assert.Same(next, answered);
        Assert.NotSame(first, answered);
        Assert.Same(next, _monitor.Current);
    }

    [Fact]
    public void Evaluate_RestartWhileRecovering_StaysRecoveringAndFailsBackAfterTheWait()
    {
        var nodes = new NodeTable(_time);
        var before = Monitor(nodes, OpenStore());
        var a = Connect(nodes, "a", 1);
        var b = Connect(nodes, "b", 2);
        before.Evaluate();
        nodes.Disconnected("a", a);
        nodes.Disconnected("b", b);
        Assert.Equal(ClusterHealthState.Unhealthy, C1(before.Evaluate()).Health);
        Connect(nodes, "a", 1);
        Connect(nodes, "b", 2);
        Assert.Equal(ClusterHealthState.Recovering, C1(before.Evaluate()).Health);

        // The restart: a new node table (no node has reconnected yet), a new monitor on the reopened store.
        var after = new NodeTable(_time);
        var restarted = Monitor(after, OpenStore());
        Assert.Equal(["unhealthy", "recovering"], restarted.History("c1")!.Select(e => e.To));
        var first = restarted.Evaluate();
        a = Connect(after, "a", 1);
        b = Connect(after, "b", 2);
        var back = restarted.Evaluate();
        _time.Advance(TimeSpan.FromSeconds(2));
        after.RecordHeartbeat("a", a, 1, NodeSurvival.Alive, out _);
        after.RecordHeartbeat("b", b, 1, NodeSurvival.Alive, out _);
        var waiting = restarted.Evaluate();
        _time.Advance(TimeSpan.FromSeconds(1));
        var failedBack = restarted.Evaluate();

        // Neither seen for the first time (healthy at once) nor flapped while its nodes were away.
        Assert.Empty(first.Transitions);
        Assert.Empty(back.Transitions);
        Assert.Equal(ClusterHealthState.Recovering, C1(back).Health);
        Assert.Equal((ClusterHealthState.Recovering, TimeSpan.FromSeconds(2)), (C1(waiting).Health, C1(waiting).HealthyFor));
        Assert.Equal(ClusterHealthState.Healthy, C1(failedBack).Health);
        Assert.Equal((ClusterHealthState.Recovering, ClusterHealthState.Healthy), (Assert.Single(failedBack.Transitions).From, failedBack.Transitions[0].To));
        Assert.Equal(["unhealthy", "recovering", "healthy"], OpenStore().LoadClusterHistory(10)["c1"].Select(e => e.To));
    }

    [Fact]
    public void Evaluate_ConfiguredClusterWithoutNodesAfterRestart_HeldUntilTheGraceEndsThenJudged()
    {
        using (var setting = JsonDocument.Parse("""{"weight": 200}"""))
        {
            Assert.Null(new ClusterRegistry(_options).Put("c9", setting.RootElement));
        }

        var nodes = new NodeTable(_time);
        var before = Monitor(nodes, OpenStore());
        Connect(nodes, "x", 1, "c9");
        before.Evaluate();

        var restarted = Monitor(new NodeTable(_time), OpenStore());
        var held = restarted.Evaluate();
        var keptWhileHeld = OpenStore().LoadClusterHealth()["c9"];
        _time.Advance(_options.RestartGrace);
        var judged = restarted.Evaluate();

        // While held it shows as seen for the first time: it has no node to serve with, and no transition.
        Assert.Equal(ClusterHealthState.Unhealthy, held.Clusters.Single(c => c.Name == "c9").Health);
        Assert.Empty(held.Transitions);
        Assert.Equal(ClusterHealthState.Healthy, keptWhileHeld.Health);
        var transition = Assert.Single(judged.Transitions);
        Assert.Equal(("c9", ClusterHealthState.Healthy, ClusterHealthState.Unhealthy), (transition.Cluster, transition.From, transition.To));
        Assert.Equal(["unhealthy"], restarted.History("c9")!.Select(e => e.To));
    }

    [Fact]
    public void Evaluate_HealthyClusterEveryPeriod_SavesItsStateOnceAndNoHistory()
    {
        var store = new RecordingMemoryStore();
        var nodes = new NodeTable(_time);
        var monitor = Monitor(nodes, store);
        var a = Connect(nodes, "a", 1);

        for (var i = 1; i <= 5; i++)
        {
            monitor.Evaluate();
            _time.Advance(TimeSpan.FromSeconds(1));
            nodes.RecordHeartbeat("a", a, (ulong)i, NodeSurvival.Alive, out _);
        }

        Assert.Equal(ClusterHealthState.Healthy, Assert.Single(store.HealthSaves)["c1"].Health);
        Assert.Empty(store.History);
    }

    [Fact]
    public void Evaluate_StoreFails_DecisionStandsAndHistoryKeptInMemory()
    {
        var store = new RecordingMemoryStore { Fail = true };
        var nodes = new NodeTable(_time);
        var monitor = Monitor(nodes, store);
        var a = Connect(nodes, "a", 1);
        monitor.Evaluate();
        nodes.Disconnected("a", a);

        var decision = monitor.Evaluate();

        Assert.Equal(ClusterHealthState.Unhealthy, C1(decision).Health);
        Assert.Equal(["unhealthy"], monitor.History("c1")!.Select(e => e.To));
    }

    private static Dictionary<string, PreviousClusterHealth> States(params (string Cluster, ClusterHealthState Health, double Seconds)[] states)
        => states.ToDictionary(s => s.Cluster, s => new PreviousClusterHealth(s.Health, TimeSpan.FromSeconds(s.Seconds)), StringComparer.Ordinal);

    public static TheoryData<string, Dictionary<string, PreviousClusterHealth>, Dictionary<string, PreviousClusterHealth>, bool> SaveCases => new()
    {
        { "unchanged", States(("c1", ClusterHealthState.Healthy, 1)), States(("c1", ClusterHealthState.Healthy, 1)), false },
        { "healthy for longer", States(("c1", ClusterHealthState.Healthy, 1)), States(("c1", ClusterHealthState.Healthy, 900)), false },
        { "state changed", States(("c1", ClusterHealthState.Healthy, 9)), States(("c1", ClusterHealthState.Unhealthy, 0)), true },
        { "a cluster came", States(), States(("c1", ClusterHealthState.Healthy, 0)), true },
        { "a cluster went", States(("c1", ClusterHealthState.Healthy, 0)), States(), true },
        { "another cluster", States(("c1", ClusterHealthState.Healthy, 0)), States(("c2", ClusterHealthState.Healthy, 0)), true },
        { "recovery short of the step", States(("c1", ClusterHealthState.Recovering, 1)), States(("c1", ClusterHealthState.Recovering, 5.9)), false },
        { "recovery by the step", States(("c1", ClusterHealthState.Recovering, 1)), States(("c1", ClusterHealthState.Recovering, 6)), true },
        { "recovery started again", States(("c1", ClusterHealthState.Recovering, 4)), States(("c1", ClusterHealthState.Recovering, 0)), true },
    };

    [Theory]
    [MemberData(nameof(SaveCases))]
    public void WorthSaving_KeptAndNext_StatesAtOnceRecoveryEveryStep(string name, Dictionary<string, PreviousClusterHealth> kept, Dictionary<string, PreviousClusterHealth> next, bool expected)
    {
        Assert.True(expected == ClusterHealthMonitor.WorthSaving(kept, next, ClusterHealthMonitor.SaveStep), name);
    }
}
