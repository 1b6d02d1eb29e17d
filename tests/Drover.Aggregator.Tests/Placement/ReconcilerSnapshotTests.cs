using Drover.Aggregator.Fleet;
using Drover.Aggregator.Functions;
using Drover.Aggregator.Placement;
using Drover.Decisions.Reconcile;
using Drover.Decisions.Scaling;

namespace Drover.Aggregator.Tests.Placement;

/// <summary>
/// What the reconciler's snapshot makes of the fleet state the autoscaler reads: a function's settings and
/// each GPU's telemetry (the rest of the scaling snapshot is <see cref="ReconcilePass.ScalingSnapshotOf"/>'s,
/// tested in Drover.Decisions.Tests).
/// </summary>
public class ReconcilerSnapshotTests
{
    private static readonly FunctionDefinition Counter = new()
    {
        Name = "counter",
        Runtime = new ProcessRuntimeDefinition { Command = "/opt/counter" },
        Slo = 2,
        Margin = 1,
        MinInstances = 1,
        MaxInstances = 4,
        GpuMemoryBytes = 1000,
        ScaleDownWindowSeconds = 5,
    };

    private static GpuState Gpu(string uuid, double queue, GpuHealthState health = GpuHealthState.Ok, ulong free = 8000, uint utilization = 10)
        => new(0, uuid, "Stand-in", "0000:00:00.0", health, 0, 16000, 16000 - free, free, utilization, 0, 40, 100_000, false, queue, "estimated", [], []);

    [Fact]
    public void ScalingFunctionOf_Definition_CarriesItsSettings()
        => Assert.Equal(new ScalingFunction("counter", 2, 1, 1, 4, 1000, TimeSpan.FromSeconds(5)), InstanceReconciler.ScalingFunctionOf(Counter));

    [Fact]
    public void ScalingFunctionOf_NoMaximum_TheMinimum()
        => Assert.Equal(1, InstanceReconciler.ScalingFunctionOf(new FunctionDefinition { Name = "f", Runtime = Counter.Runtime, MinInstances = 1 }).MaxInstances);

    [Fact]
    public void ScalingGpuOf_Telemetry_HealthMemoryQueueUtilization()
    {
        // An estimate keeps its fraction: 2.2 is not three queued kernels.
        Assert.Equal(new ScalingGpu("g1", true, 5000, 2.2, 70), InstanceReconciler.ScalingGpuOf(Gpu("g1", 2.2, free: 5000, utilization: 70)));
        Assert.Equal(QueueSource.Reported, InstanceReconciler.ScalingGpuOf(Gpu("g1", 4) with { CommandQueueSource = "reported" }).QueueSource);
        Assert.Equal(QueueSource.Measured, InstanceReconciler.ScalingGpuOf(Gpu("g1", 4) with { CommandQueueSource = "measured" }).QueueSource);
        Assert.Equal(QueueSource.Unknown, InstanceReconciler.ScalingGpuOf(Gpu("g1", 0) with { CommandQueueSource = "unknown" }).QueueSource);
        Assert.Equal(new ScalingGpu("g2", false, 8000, 0, 10), InstanceReconciler.ScalingGpuOf(Gpu("g2", 0, GpuHealthState.Unhealthy)));
    }

    [Theory]
    [InlineData("any", GpuRequestKind.Any, null)]
    [InlineData("whole", GpuRequestKind.Whole, null)]
    [InlineData("mig", GpuRequestKind.Mig, null)]
    [InlineData("mig:1g.10gb", GpuRequestKind.Mig, "1g.10gb")]
    public void ScalingFunctionOf_Gpu_IsTheRequest(string gpu, GpuRequestKind kind, string? profile)
        => Assert.Equal(new GpuRequest(kind, profile), InstanceReconciler.ScalingFunctionOf(Counter with { Gpu = gpu }).Gpu);

    [Fact]
    public void ScalingGpuOf_Mig_ParentNeverUsableInstancesAreWithTheirProfile()
    {
        var parent = Gpu("GPU-p", 0) with { MigEnabled = true };
        var instance = Gpu("MIG-p1", 0) with { Mig = new GpuMig("GPU-p", "1g.10gb", 7, 0), CommandQueueSource = "unknown" };
        var unnamed = Gpu("MIG-p2", 0) with { Mig = new GpuMig("GPU-p", "", 8, 0) };

        Assert.Equal((false, null), (InstanceReconciler.ScalingGpuOf(parent).Healthy, InstanceReconciler.ScalingGpuOf(parent).MigProfile));
        Assert.Equal(new ScalingGpu("MIG-p1", true, 8000, 0, 10, QueueSource: QueueSource.Unknown, MigProfile: "1g.10gb"), InstanceReconciler.ScalingGpuOf(instance));
        Assert.Equal("", InstanceReconciler.ScalingGpuOf(unnamed).MigProfile);
        Assert.Null(InstanceReconciler.ScalingGpuOf(Gpu("GPU-w", 0)).MigProfile);

        // A MIG instance is judged by its own health, whatever its agent says of its mode.
        Assert.True(InstanceReconciler.ScalingGpuOf(instance with { MigEnabled = true }).Healthy);
        Assert.False(InstanceReconciler.ScalingGpuOf(instance with { Health = GpuHealthState.Unhealthy }).Healthy);
    }

    /// <summary>Each health the agent reports, as placement reads it: placeable, and ranked after sound GPUs.</summary>
    [Theory]
    [InlineData("Ok", 0U, true, false)]
    [InlineData("Ok", 45U, true, false)]
    [InlineData("Degraded", 0U, true, true)]
    [InlineData("Degraded", 62U, true, true)]
    [InlineData("Unhealthy", 0U, false, false)]
    [InlineData("Unhealthy", 79U, false, false)]
    [InlineData("Lost", 0U, false, false)]
    public void ScalingGpuOf_GpuHealth_PlaceableAndDegraded(string health, uint xid, bool placeable, bool degraded)
    {
        var gpu = InstanceReconciler.ScalingGpuOf(Gpu("g1", 0, Enum.Parse<GpuHealthState>(health)) with { Xid = xid });

        Assert.Equal((placeable, degraded), (gpu.Healthy, gpu.Degraded));
    }

    /// <summary>
    /// From telemetry to the start: a MIG-enabled GPU looks the idlest, with all its memory free (its instances'
    /// work is not its own), and is never placed on, whatever the function asks for; its instances are, each by
    /// its own queue, and a whole GPU only for a function that may take one.
    /// </summary>
    [Theory]
    [InlineData("any", "MIG-p0,whole")]
    [InlineData("mig", "MIG-p0")]
    [InlineData("mig:1g.10gb", "MIG-p0")]
    [InlineData("mig:3g.40gb", "")]
    [InlineData("whole", "whole")]
    public void Decide_FromTelemetry_MigEnabledGpuNeverChosen(string request, string expected)
    {
        var parent = Gpu("GPU-p", 0, free: 16000, utilization: 0) with { MigEnabled = true };
        var busy = Gpu("MIG-p1", 3, free: 4000) with { Mig = new GpuMig("GPU-p", "1g.10gb", 1, 0), CommandQueueSource = "reported" };
        var idle = Gpu("MIG-p0", 0, free: 4000) with { Mig = new GpuMig("GPU-p", "1g.10gb", 2, 0), CommandQueueSource = "reported" };
        var whole = Gpu("whole", 2, free: 8000, utilization: 50);
        var function = Counter with { Gpu = request, MinInstances = 0, MaxInstances = 2, Margin = 0 };
        var decision = DecideOnce(
            [
                new ReconcileNode("n1", "a", 1, true, false, true, 0, 100, new[] { parent, busy, idle }.Select(InstanceReconciler.ScalingGpuOf).ToArray()),
                new ReconcileNode("n2", "a", 2, true, false, true, 0, 100, [InstanceReconciler.ScalingGpuOf(whole)]),
            ],
            function,
            queued: ("n2", 4));

        // ceil(4 / 2) = 2 wanted, one per node at most.
        Assert.Equal(expected, string.Join(',', decision.Starts.Select(s => s.GpuUuid)));
        Assert.DoesNotContain(decision.Candidates, c => c.GpuUuid == "GPU-p");
    }

    /// <summary>
    /// From telemetry to the start: GPUs reporting a reset required or a hardware XID look idle (NVML gave no
    /// numbers), and are never placed on; one with an application XID is placed on like any sound GPU; a degraded
    /// one only after the sound ones.
    /// </summary>
    [Fact]
    public void Decide_FromTelemetry_NotOkGpusNeverFirstAndUnhealthyNeverPlaced()
    {
        var reset = Gpu("reset", 0, GpuHealthState.Unhealthy, free: 16000, utilization: 0) with { HealthReason = "NVML answers RESET_REQUIRED: the GPU needs a reset" };
        var hardware = Gpu("xid79", 0, GpuHealthState.Unhealthy, free: 16000, utilization: 0) with { Xid = 79 };
        var application = Gpu("xid45", 3, free: 4000, utilization: 60) with { Xid = 45 };
        var degraded = Gpu("degraded", 0, GpuHealthState.Degraded, free: 16000, utilization: 0);
        var busy = Gpu("busy", 5, free: 2000, utilization: 90);
        GpuState[] gpus = [reset, hardware, application, degraded, busy];
        var decision = DecideOnce(
            gpus.Select((g, i) => new ReconcileNode($"n{i + 1}", "a", i + 1, true, false, true, 0, 100, [InstanceReconciler.ScalingGpuOf(g)])).ToArray(),
            Counter,
            queued: ("n3", 20));

        // ceil(20 / 2) + 1 = 11, at most 4 wanted; three placeable nodes: ok ones first (by load), the degraded one last.
        Assert.Equal(["xid45", "busy", "degraded"], decision.Starts.Select(s => s.GpuUuid));
        Assert.Equal(1, decision.Shortfall);
    }

    /// <summary>The one scaling decision for <c>counter</c> (<paramref name="function"/>) over <paramref name="nodes"/>, with <paramref name="queued"/> requests at one node's shim.</summary>
    private static ScalingDecision DecideOnce(ReconcileNode[] nodes, FunctionDefinition function, (string Node, int Requests) queued)
    {
        var snapshot = new ReconcileSnapshot(
            nodes,
            [new ReconcileWorkload("counter", "1", "", null, InstanceReconciler.ScalingFunctionOf(function))],
            [],
            [],
            [],
            new Dictionary<string, FunctionLoad> { ["counter"] = new(new Dictionary<string, NodeLoad> { [queued.Node] = new(queued.Requests, 0) }, 0) },
            null,
            null,
            [],
            TimeSpan.FromHours(1),
            TimeSpan.FromSeconds(10),
            TimeSpan.FromSeconds(1),
            TimeSpan.FromSeconds(10));
        return Assert.Single(Autoscaler.Decide(ReconcilePass.ScalingSnapshotOf(snapshot, snapshot.Instances, new HashSet<string>(), new HashSet<string>(), new HashSet<string>(), new Dictionary<string, ScalingPrevious>(), TimeSpan.Zero)).Decisions);
    }
}
