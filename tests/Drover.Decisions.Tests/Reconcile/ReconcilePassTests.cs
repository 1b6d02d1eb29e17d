using Drover.Decisions.Placement;
using Drover.Decisions.Reconcile;
using Drover.Decisions.Scaling;

namespace Drover.Decisions.Tests.Reconcile;

/// <summary>
/// The whole pass as tables: a snapshot and a memory in, the actions (counted by kind) and the next memory
/// out, over consecutive passes where the memory is what carries a rule from one pass to the next.
/// </summary>
public class ReconcilePassTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly ScalingFunction Scaled = new("f", 2, 0, 1, 4, 1000, TimeSpan.FromSeconds(30));

    private static ReconcileNode Node(string id, bool lost = false, bool survives = true, string cluster = "c1", params string[] gpus)
        => new(id, cluster, int.Parse(id[1..], System.Globalization.CultureInfo.InvariantCulture), survives && !lost, lost, !lost, 0, 100,
            gpus.Select(g => new ScalingGpu(g, true, 16_000, 0, 0)).ToArray());

    private static ReconcileInstance Instance(string id, string node, string workload = "f", bool confirmed = true, bool failed = false, double assignedSecondsAgo = 60, bool mayHoldState = false, string? gpu = null, bool ready = true)
        => new(id, workload, node, "c1", 0, TimeSpan.FromSeconds(assignedSecondsAgo), confirmed, failed, failed ? "exit 1" : "", mayHoldState, false, ready && confirmed, confirmed ? "1" : "", gpu);

    private static ReconcileSnapshot Snapshot(
        ReconcileNode[] nodes,
        ReconcileWorkload[] workloads,
        ReconcileInstance[]? instances = null,
        double elapsedSeconds = 1,
        ReconcilePendingStop[]? stops = null,
        Dictionary<string, FunctionLoad>? loads = null,
        IReadOnlySet<string>? serving = null,
        string[]? awaited = null,
        ReconcileStaleCopy[]? staleCopies = null)
        => new(nodes, workloads, instances ?? [], staleCopies ?? [], stops ?? [], loads ?? [], serving, null, awaited ?? [], TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(elapsedSeconds), Timeout);

    private static ReconcileWorkload EveryNode(string key = "f", string fingerprint = "a", string version = "1") => new(key, version, fingerprint, null);

    private static ReconcileWorkload Autoscaled(ScalingFunction? scaling = null) => new("f", "1", "a", null, scaling ?? Scaled, TimeSpan.FromSeconds(2));

    private static Dictionary<ReconcileActionKind, int> Count(ReconcileResult result) => result.Actions.CountBy(a => a.Kind).ToDictionary();

    /// <summary>The rows: a fleet state, and the actions one pass from an empty memory takes on it.</summary>
    public static TheoryData<string, ReconcileSnapshot, Dictionary<ReconcileActionKind, int>> FirstPasses => new()
    {
        { "a new every-node function: one start per surviving node",
            Snapshot([Node("n1"), Node("n2"), Node("n3", lost: true)], [EveryNode()]),
            new() { [ReconcileActionKind.Start] = 2 } },
        { "an every-node function in place: nothing",
            Snapshot([Node("n1")], [EveryNode()], [Instance("i1", "n1")]),
            new() },
        { "its node lost: the instance moves to the survivor",
            Snapshot([Node("n1", lost: true), Node("n2")], [new ReconcileWorkload("s", "1", "a", 1)], [Instance("i1", "n1", "s")]),
            new() { [ReconcileActionKind.Move] = 1 } },
        { "a deleted function's instance: stopped for good",
            Snapshot([Node("n1")], [], [Instance("i1", "n1")]),
            new() { [ReconcileActionKind.StopDeleted] = 1 } },
        { "an unconfirmed start past the timeout: sent again",
            Snapshot([Node("n1")], [EveryNode()], [Instance("i1", "n1", confirmed: false, assignedSecondsAgo: 11)]),
            new() { [ReconcileActionKind.Resend] = 1 } },
        { "a pending stop on a connected node: sent again",
            Snapshot([Node("n1")], [], stops: [new ReconcilePendingStop("i0", "n1", "f", true)]),
            new() { [ReconcileActionKind.ResendStop] = 1 } },
        { "an autoscaled function below its minimum: a start on a GPU, recorded",
            Snapshot([Node("n1", gpus: "g1")], [Autoscaled()]),
            new() { [ReconcileActionKind.Start] = 1, [ReconcileActionKind.RecordScaling] = 1 } },
        { "an autoscaled start reported failed, holding no state: stopped, logged, the node penalised (no GPU left to start on)",
            Snapshot([Node("n1", gpus: "g1")], [Autoscaled()], [Instance("i1", "n1", failed: true, ready: false)]),
            new() { [ReconcileActionKind.Stop] = 1, [ReconcileActionKind.LogStartFailed] = 1, [ReconcileActionKind.RecordScaling] = 1 } },
        { "an autoscaled instance stranded on a lost node: it resumes on the best GPU",
            Snapshot([Node("n1", lost: true, gpus: "g1"), Node("n2", gpus: "g2")], [Autoscaled()], [Instance("i1", "n1", mayHoldState: true, gpu: "g1")]),
            new() { [ReconcileActionKind.Move] = 1, [ReconcileActionKind.RecordScaling] = 1 } },
        { "a stale copy on a connected node, its instance running elsewhere: stopped",
            Snapshot([Node("n1", gpus: "g1"), Node("n2", gpus: "g2")], [Autoscaled(new ScalingFunction("f", 1, 0, 1, 4, 1000, TimeSpan.FromSeconds(30)))], [Instance("i1", "n1", gpu: "g1")],
                staleCopies: [new ReconcileStaleCopy("i1", "n2", "f")]),
            new() { [ReconcileActionKind.StopStaleCopy] = 1 } },
        { "an instance stranded on a lost node resumes where it left a stale copy: moved there, that copy not stopped",
            Snapshot([Node("n1", lost: true, gpus: "g1"), Node("n2", gpus: "g2")], [Autoscaled()], [Instance("i1", "n1", mayHoldState: true, gpu: "g1")],
                staleCopies: [new ReconcileStaleCopy("i1", "n2", "f")]),
            new() { [ReconcileActionKind.Move] = 1, [ReconcileActionKind.RecordScaling] = 1 } },
        { "an autoscaled instance on a node awaited after a restart: counted, left alone",
            Snapshot([Node("n2", gpus: "g2")], [Autoscaled()], [Instance("i1", "n1", gpu: "g1")], awaited: ["n1"]),
            new() },
    };

    [Theory]
    [MemberData(nameof(FirstPasses))]
    public void Decide_FirstPass_Actions(string row, ReconcileSnapshot snapshot, Dictionary<ReconcileActionKind, int> expected)
    {
        var result = ReconcilePass.Decide(snapshot, ReconcileMemory.Empty);

        Assert.True(expected.Count == Count(result).Count && expected.All(e => Count(result).GetValueOrDefault(e.Key) == e.Value),
            $"{row}: expected {Describe(expected)}, got {Describe(Count(result))}");
    }

    [Fact]
    public void Decide_StrandedInstanceResumes_TheMoveNamesTheChosenGpuAndTheLostNode()
    {
        var snapshot = Snapshot([Node("n1", lost: true, gpus: "g1"), Node("n2", gpus: "g2")], [Autoscaled()], [Instance("i1", "n1", mayHoldState: true, gpu: "g1")]);

        var move = Assert.Single(ReconcilePass.Decide(snapshot, ReconcileMemory.Empty).Actions, a => a.Kind == ReconcileActionKind.Move);

        Assert.Equal(("i1", "n1", "n2", "g2"), (move.InstanceId, move.FromNodeId, move.ToNodeId, move.GpuUuid));
        Assert.Contains("node 'n1' is lost, so the instance resumes there", move.Reason, StringComparison.Ordinal);
    }

    /// <summary>A failed start penalises its node for a minute: logged once, and the node takes nothing new until it runs out.</summary>
    [Fact]
    public void Decide_FailedStartOverPasses_LoggedOnceAndTheNodeSitsOutAMinute()
    {
        var nodes = new[] { Node("n1", gpus: "g1") };
        var failed = Snapshot(nodes, [Autoscaled()], [Instance("i1", "n1", failed: true, ready: false, mayHoldState: true)]);

        var first = ReconcilePass.Decide(failed, ReconcileMemory.Empty);
        var second = ReconcilePass.Decide(failed with { Elapsed = TimeSpan.FromSeconds(1) }, first.Memory);

        Assert.Equal(1, Count(first).GetValueOrDefault(ReconcileActionKind.LogStartFailed));
        Assert.Equal(0, Count(second).GetValueOrDefault(ReconcileActionKind.LogStartFailed));
        Assert.Equal(NodePenalty.Duration, first.Memory.Penalties["n1"]);

        // The instance gone (it held state: it waits to resume), the node still penalised 58 s later: no start there.
        var empty = Snapshot(nodes, [Autoscaled()], elapsedSeconds: 58);
        Assert.DoesNotContain(ReconcilePass.Decide(empty, second.Memory).Actions, a => a.Kind == ReconcileActionKind.Start);
        var later = ReconcilePass.Decide(empty with { Elapsed = TimeSpan.FromSeconds(60) }, second.Memory);
        Assert.Contains(later.Actions, a => a.Kind == ReconcileActionKind.Start && a.ToNodeId == "n1");
        Assert.Empty(later.Memory.Penalties);
    }

    /// <summary>A resend is remembered: the next goes only a confirm timeout later, and the memory forgets it once the instance is confirmed.</summary>
    [Theory]
    [InlineData(1, 0)]
    [InlineData(9, 0)]
    [InlineData(10, 1)]
    public void Decide_ResentStart_SentAgainOnlyAfterTheTimeout(double secondsLater, int resends)
    {
        var unconfirmed = Snapshot([Node("n1")], [EveryNode()], [Instance("i1", "n1", confirmed: false, assignedSecondsAgo: 11)]);
        var first = ReconcilePass.Decide(unconfirmed, ReconcileMemory.Empty);

        var next = ReconcilePass.Decide(unconfirmed with { Elapsed = TimeSpan.FromSeconds(secondsLater) }, first.Memory);

        Assert.Equal(TimeSpan.Zero, first.Memory.SinceSent["i1"]);
        Assert.Equal(resends, Count(next).GetValueOrDefault(ReconcileActionKind.Resend));
    }

    [Fact]
    public void Decide_InstanceGone_ItsSendForgotten()
    {
        var first = ReconcilePass.Decide(Snapshot([Node("n1")], [EveryNode()], [Instance("i1", "n1", confirmed: false, assignedSecondsAgo: 11)]), ReconcileMemory.Empty);

        var next = ReconcilePass.Decide(Snapshot([Node("n1")], [], []), first.Memory);

        Assert.Empty(next.Memory.SinceSent);
    }

    /// <summary>Settings changed within a version reach every instance once; a new version is follow-up's (resent as outdated), not this rule's.</summary>
    [Theory]
    [InlineData("1", "a", "1", "a", 0)]
    [InlineData("1", "a", "1", "b", 2)]
    [InlineData("1", "a", "2", "b", 0)]
    public void Decide_SettingsChanged_EveryInstanceGetsItsSpecOnce(string handedVersion, string handedFingerprint, string version, string fingerprint, int resends)
    {
        var memory = ReconcileMemory.Empty with { Handed = new Dictionary<string, HandedSettings> { ["f"] = new(handedVersion, handedFingerprint) } };
        var snapshot = Snapshot([Node("n1"), Node("n2")], [EveryNode(fingerprint: fingerprint, version: version)], [Instance("i1", "n1"), Instance("i2", "n2")]);

        var result = ReconcilePass.Decide(snapshot, memory);
        var again = ReconcilePass.Decide(snapshot, result.Memory);

        Assert.Equal(resends, Count(result).GetValueOrDefault(ReconcileActionKind.ResendSettings));
        Assert.Equal(0, Count(again).GetValueOrDefault(ReconcileActionKind.ResendSettings));
    }

    [Fact]
    public void Decide_PlacementShortfall_LoggedOnceWhileItLasts()
    {
        var snapshot = Snapshot([Node("n1", lost: true)], [new ReconcileWorkload("s", "1", "a", 1)], [Instance("i1", "n1", "s")]);

        var first = ReconcilePass.Decide(snapshot, ReconcileMemory.Empty);
        var second = ReconcilePass.Decide(snapshot, first.Memory);
        var over = ReconcilePass.Decide(snapshot with { Nodes = [Node("n1", lost: true), Node("n2")] }, second.Memory);
        var again = ReconcilePass.Decide(snapshot, over.Memory);

        Assert.Equal([1, 0, 0, 1], new[] { first, second, over, again }.Select(r => Count(r).GetValueOrDefault(ReconcileActionKind.LogShortfall)));
    }

    [Fact]
    public void Decide_ScaleDownWindow_CarriedInTheMemoryUntilItRunsOut()
    {
        var nodes = new[] { Node("n1", gpus: "g1"), Node("n2", gpus: "g2") };
        var snapshot = Snapshot(nodes, [Autoscaled()], [Instance("i1", "n1", gpu: "g1"), Instance("i2", "n2", gpu: "g2")], elapsedSeconds: 10);

        var memory = ReconcileMemory.Empty;
        var stops = new List<int>();
        for (var pass = 0; pass < 4; pass++)
        {
            var result = ReconcilePass.Decide(snapshot, memory);
            stops.Add(Count(result).GetValueOrDefault(ReconcileActionKind.Stop));
            memory = result.Memory;
        }

        // Desired 1 against 2: the 30 s window opens on the first pass and runs out on the fourth.
        Assert.Equal([0, 0, 0, 1], stops);
    }

    [Fact]
    public void Decide_Autoscaled_DesiredCountForEveryAutoscaledFunction()
    {
        var result = ReconcilePass.Decide(Snapshot([Node("n1", gpus: "g1")], [Autoscaled(), EveryNode("plain")], [Instance("i1", "n1", gpu: "g1")]), ReconcileMemory.Empty);

        Assert.Equal(new Dictionary<string, int> { ["f"] = 1 }, result.Desired);
    }

    private static string Describe(Dictionary<ReconcileActionKind, int> counts)
        => counts.Count == 0 ? "nothing" : string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Value} {c.Key}"));
}
