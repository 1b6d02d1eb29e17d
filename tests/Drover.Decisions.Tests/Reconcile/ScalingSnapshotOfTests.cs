using Drover.Decisions.Reconcile;
using Drover.Decisions.Scaling;

namespace Drover.Decisions.Tests.Reconcile;

/// <summary>What the autoscaler reads of a pass's snapshot: the request queue, eligible nodes, counted instances.</summary>
public class ScalingSnapshotOfTests
{
    private static readonly ScalingFunction Counter = new("counter", 2, 1, 1, 4, 1000, TimeSpan.FromSeconds(5));

    private static ReconcileNode Node(string id, string cluster = "a", bool lost = false, bool survives = true)
        => new(id, cluster, 1, survives && !lost, lost, !lost, 0, 100, [new ScalingGpu($"g-{id}", true, 8000, 0, 10)]);

    private static ReconcileInstance Instance(string id, string node, bool ready = true, string workload = "counter", string? gpu = null)
        => new(id, workload, node, null, 0, TimeSpan.FromMinutes(1), ready, false, "", false, false, ready, ready ? "1" : "", gpu);

    private static ScalingSnapshot Build(
        ReconcileNode[] nodes,
        ReconcileInstance[]? instances = null,
        Dictionary<string, NodeLoad>? load = null,
        long gateway = 0,
        IReadOnlySet<string>? serving = null,
        string[]? penalised = null,
        string[]? awaited = null,
        string[]? uncounted = null)
    {
        var snapshot = new ReconcileSnapshot(
            nodes,
            [new ReconcileWorkload("counter", "1", "", null, Counter), new ReconcileWorkload("other", "1", "", null)],
            instances ?? [],
            [],
            [],
            new Dictionary<string, FunctionLoad> { ["counter"] = new(load ?? [], gateway) },
            serving,
            null,
            [],
            TimeSpan.FromHours(1),
            TimeSpan.FromSeconds(10),
            TimeSpan.FromSeconds(1),
            TimeSpan.FromSeconds(10));
        return ReconcilePass.ScalingSnapshotOf(
            snapshot,
            snapshot.Instances,
            (awaited ?? []).ToHashSet(),
            (uncounted ?? []).ToHashSet(),
            (penalised ?? []).ToHashSet(),
            new Dictionary<string, ScalingPrevious>(),
            TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void ScalingSnapshotOf_QueueLength_SumsNodesNotLostAndTheGateway()
    {
        var snapshot = Build(
            [Node("n1"), Node("n2"), Node("n3", lost: true)],
            load: new() { ["n1"] = new(3, 2), ["n2"] = new(0, 1), ["n3"] = new(50, 50) },
            gateway: 4);

        Assert.Equal(10, snapshot.QueueLengths["counter"]);
    }

    [Fact]
    public void ScalingSnapshotOf_Functions_OnlyTheAutoscaledOnes()
        => Assert.Equal([Counter], Build([]).Functions);

    [Fact]
    public void ScalingSnapshotOf_Eligible_SurvivingServingAndNotPenalised()
    {
        var snapshot = Build(
            [Node("ok"), Node("other-cluster", cluster: "b"), Node("penalised"), Node("lost", lost: true), Node("draining", survives: false)],
            serving: new HashSet<string> { "a" },
            penalised: ["penalised"]);

        Assert.Equal(["ok"], snapshot.Nodes.Where(n => n.Eligible).Select(n => n.NodeId));
    }

    [Fact]
    public void ScalingSnapshotOf_NoHealthDecision_EverySurvivorIsEligible()
        => Assert.Equal(["a1", "b1"], Build([Node("a1"), Node("b1", cluster: "b")]).Nodes.Where(n => n.Eligible).Select(n => n.NodeId));

    [Fact]
    public void ScalingSnapshotOf_Instances_NodesNotLostOnlyWithStartingGpuAndInFlight()
    {
        var snapshot = Build(
            [Node("n1"), Node("n2"), Node("n3", lost: true)],
            instances: [Instance("i1", "n1", gpu: "g1"), Instance("i2", "n2", ready: false), Instance("i3", "n3"), Instance("x1", "n1", workload: "other")],
            load: new() { ["n1"] = new(1, 2) });

        Assert.Equal(
            [new ScalingInstance("i1", "counter", "n1", "g1", false, 2), new ScalingInstance("i2", "counter", "n2", null, true, 0)],
            snapshot.Instances);
    }

    [Fact]
    public void ScalingSnapshotOf_Instances_AwaitedNodesCountAndAreMarked_UncountedLeftOut()
    {
        var snapshot = Build(
            [Node("n1")],
            instances: [Instance("i1", "n1"), Instance("failed", "n1", ready: false), Instance("back-soon", "n9", ready: false), Instance("gone", "n8")],
            awaited: ["n9"],
            uncounted: ["failed"]);

        Assert.Equal(
            [new ScalingInstance("i1", "counter", "n1", null, false, 0), new ScalingInstance("back-soon", "counter", "n9", null, true, 0, Awaited: true)],
            snapshot.Instances);
    }
}
