using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Functions;
using Drover.Aggregator.Placement;
using Drover.Decisions.Health;
using Drover.Decisions.Scaling;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Tests.Placement;

public class ScalingInputsTests
{
    private static readonly AggregatorOptions Options = new();

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

    private static NodeView Node(string id, string cluster = "a", NodeSurvival survival = NodeSurvival.Alive, bool connected = true, params GpuState[] gpus)
        => new(
            new NodeIdentity(id, 1, 7000, cluster, new Dictionary<string, string>(), "1", id, GpuTelemetryState.Unknown, gpus.Length),
            survival,
            connected,
            0,
            1,
            TimeSpan.FromMilliseconds(100),
            new GpuReport(new GpuTelemetryState(true, "", "550"), gpus, 0),
            TimeSpan.FromMilliseconds(100),
            null,
            null,
            100,
            NodeSettingSource.Agent,
            0,
            NodeSettingSource.Agent);

    private static InstanceView Instance(string id, string node, bool ready = true, string function = "counter")
        => new(id, function, node, ready ? node : null, ready ? "running" : "assigned", "1", 0, 0, 0, 0, 0, "", 0, 0, null, ready);

    private static WorkloadStats Stats(uint queued, uint inFlight) => new() { Kind = WorkloadKind.Function, Name = "counter", Queued = queued, InFlight = inFlight };

    private static ScalingSnapshot Build(
        IReadOnlyList<NodeView> nodes,
        IReadOnlyList<InstanceView>? instances = null,
        Dictionary<string, WorkloadStats>? stats = null,
        int gateway = 0,
        HealthDecision? health = null,
        IReadOnlySet<string>? penalised = null,
        Dictionary<string, string>? gpuOf = null,
        HashSet<string>? awaited = null,
        HashSet<string>? uncounted = null)
        => ScalingInputs.Build(
            [Counter],
            nodes,
            instances ?? [],
            awaited ?? [],
            uncounted ?? [],
            _ => stats ?? [],
            _ => gateway,
            health,
            penalised ?? new HashSet<string>(),
            gpuOf ?? [],
            new Dictionary<string, ScalingPrevious>(),
            TimeSpan.FromSeconds(1),
            Options);

    [Fact]
    public void Build_QueueLength_SumsLiveNodesAndGateway()
    {
        var snapshot = Build(
            [Node("n1", gpus: Gpu("g1", 0)), Node("n2", gpus: Gpu("g2", 0)), Node("n3", survival: NodeSurvival.Lost, gpus: Gpu("g3", 0))],
            stats: new() { ["n1"] = Stats(3, 2), ["n2"] = Stats(0, 1), ["n3"] = Stats(50, 50) },
            gateway: 4);

        Assert.Equal(10, snapshot.QueueLengths["counter"]);
    }

    [Fact]
    public void Build_Function_CarriesTheDefinitionsSettings()
    {
        var function = Assert.Single(Build([]).Functions);
        Assert.Equal(new ScalingFunction("counter", 2, 1, 1, 4, 1000, TimeSpan.FromSeconds(5)), function);
    }

    [Fact]
    public void Build_Gpus_HealthMemoryQueueUtilization()
    {
        var node = Assert.Single(Build([Node("n1", gpus: [Gpu("g1", 2.2, free: 5000, utilization: 70), Gpu("g2", 0, GpuHealthState.Unhealthy)])]).Nodes);
        Assert.Equal([new ScalingGpu("g1", true, 5000, 3, 70), new ScalingGpu("g2", false, 8000, 0, 10)], node.Gpus);
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
        var snapshot = Build(
            [Node("n1", gpus: reset), Node("n2", gpus: hardware), Node("n3", gpus: application), Node("n4", gpus: degraded), Node("n5", gpus: busy)],
            stats: new() { ["n3"] = Stats(20, 0) });

        var decision = Assert.Single(Autoscaler.Decide(snapshot).Decisions);

        // ceil(20 / 2) + 1 = 11, at most 4 wanted; three placeable nodes: ok ones first (by load), the degraded one last.
        Assert.Equal(["xid45", "busy", "degraded"], decision.Starts.Select(s => s.GpuUuid));
        Assert.Equal(1, decision.Shortfall);
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
    public void Build_GpuHealth_PlaceableAndDegraded(string health, uint xid, bool placeable, bool degraded)
    {
        var node = Assert.Single(Build([Node("n1", gpus: [Gpu("g1", 0, Enum.Parse<GpuHealthState>(health)) with { Xid = xid }])]).Nodes);

        var gpu = Assert.Single(node.Gpus);
        Assert.Equal((placeable, degraded), (gpu.Healthy, gpu.Degraded));
    }

    [Fact]
    public void Build_Eligible_SurvivingServingAndNotPenalised()
    {
        var health = new HealthDecision([], [], [new ClusterShare("a", 1.0)], false, "");
        var snapshot = Build(
            [Node("ok"), Node("other-cluster", cluster: "b"), Node("penalised"), Node("lost", survival: NodeSurvival.Lost), Node("draining", survival: NodeSurvival.Draining), Node("gone", connected: false)],
            health: health,
            penalised: new HashSet<string> { "penalised" });

        Assert.Equal(["ok"], snapshot.Nodes.Where(n => n.Eligible).Select(n => n.NodeId));
    }

    [Fact]
    public void Build_NoHealthDecision_EverySurvivorIsEligible()
        => Assert.Equal(["a1", "b1"], Build([Node("a1"), Node("b1", cluster: "b")]).Nodes.Where(n => n.Eligible).Select(n => n.NodeId));

    [Fact]
    public void Build_Instances_LiveNodesOnlyWithStartingGpuAndInFlight()
    {
        var snapshot = Build(
            [Node("n1"), Node("n2"), Node("n3", survival: NodeSurvival.Lost)],
            instances: [Instance("i1", "n1"), Instance("i2", "n2", ready: false), Instance("i3", "n3"), Instance("x1", "n1", function: "other")],
            stats: new() { ["n1"] = Stats(1, 2) },
            gpuOf: new() { ["i1"] = "g1" });

        Assert.Equal(
            [new ScalingInstance("i1", "counter", "n1", "g1", false, 2), new ScalingInstance("i2", "counter", "n2", null, true, 0)],
            snapshot.Instances);
    }

    [Fact]
    public void Build_Instances_AwaitedNodesCountAndAreMarked_UncountedLeftOut()
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
