using Drover.Decisions.Scaling;

namespace Drover.Decisions.Tests.Scaling;

public class AutoscalerTests
{
    private const long GiB = 1L << 30;

    private static ScalingGpu Gpu(string uuid, double queue = 0, int utilization = 0, long free = 80 * GiB, bool healthy = true, bool degraded = false, QueueSource source = QueueSource.Estimated, string? mig = null)
        => new(uuid, healthy, free, queue, utilization, degraded, source, mig);

    private static GpuRequest Request(string gpu) => GpuRequest.TryParse(gpu, out var request) ? request : throw new ArgumentException(gpu, nameof(gpu));

    private static ScalingNode Node(string id, params ScalingGpu[] gpus) => new(id, "c1", 1, Eligible: true, Priority: 0, Weight: 500, gpus);

    private static ScalingFunction Function(string name = "f", int slo = 4, int margin = 0, int min = 0, int max = 100, long memory = 10 * GiB, TimeSpan? window = null)
        => new(name, slo, margin, min, max, memory, window);

    private static ScalingInstance Running(string id, string node, string? gpu = null, string function = "f", int inFlight = 0)
        => new(id, function, node, gpu ?? $"{node}-g0", Starting: false, inFlight);

    private static ScalingInstance Starting(string id, string node, string function = "f")
        => new(id, function, node, $"{node}-g0", Starting: true, InFlight: 0);

    /// <summary>Nodes n00..n(count-1), one idle GPU each (uuid <c>nXX-g0</c>).</summary>
    private static ScalingNode[] Fleet(int count)
        => Enumerable.Range(0, count).Select(i => Node($"n{i:00}", Gpu($"n{i:00}-g0"))).ToArray();

    private static ScalingResult Decide(
        ScalingFunction[] functions,
        ScalingNode[] nodes,
        ScalingInstance[] instances,
        Dictionary<string, int>? queues = null,
        Dictionary<string, ScalingPrevious>? previous = null,
        TimeSpan? elapsed = null)
        => Autoscaler.Decide(new ScalingSnapshot(
            functions,
            nodes,
            instances,
            queues ?? new Dictionary<string, int>(StringComparer.Ordinal),
            previous ?? new Dictionary<string, ScalingPrevious>(StringComparer.Ordinal),
            elapsed ?? TimeSpan.FromSeconds(1)));

    private static ScalingResult DecideOne(ScalingFunction function, int queue, ScalingInstance[] instances, TimeSpan? belowFor = null, int nodes = 12, TimeSpan? elapsed = null)
        => Decide(
            [function],
            Fleet(nodes),
            instances,
            new Dictionary<string, int>(StringComparer.Ordinal) { [function.Name] = queue },
            belowFor is null ? null : new Dictionary<string, ScalingPrevious>(StringComparer.Ordinal) { [function.Name] = new(belowFor) },
            elapsed);

    /// <summary><paramref name="running"/> running then <paramref name="starting"/> starting instances on n00, n01, ...</summary>
    private static ScalingInstance[] Instances(int running, int starting = 0)
        => Enumerable.Range(0, running + starting)
            .Select(i => i < running ? Running($"i{i}", $"n{i:00}") : Starting($"i{i}", $"n{i:00}"))
            .ToArray();

    public static TheoryData<int, int, int, int> FormulaCases => new()
    {
        // queue, SLO, margin => ceil(queue / SLO) + margin
        { 0, 8, 0, 0 },
        { 1, 8, 0, 1 },
        { 8, 8, 0, 1 },
        { 9, 8, 0, 2 },
        { 37, 8, 1, 6 },
        { 0, 8, 2, 2 },
        { 5, 1, 0, 5 },
        { -3, 8, 1, 1 },
        { int.MaxValue, 1, int.MaxValue, int.MaxValue },
    };

    [Theory]
    [MemberData(nameof(FormulaCases))]
    public void Formula_Table(int queue, int slo, int margin, int expected)
        => Assert.Equal(expected, Autoscaler.Formula(queue, slo, margin));

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Formula_SloBelowOne_Throws(int slo)
        => Assert.Throws<ArgumentOutOfRangeException>(() => Autoscaler.Formula(10, slo, 0));

    [Fact]
    public void Decide_FunctionWithSloBelowOne_ThrowsNamingIt()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Decide([Function(slo: 0)], Fleet(1), []));
        Assert.Contains("'f'", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, int, int, int, int, int> DesiredCases => new()
    {
        // name, queue, margin, min, max => desired (SLO 4)
        { "within bounds", 10, 1, 0, 10, 4 },
        { "margin only on an empty queue", 0, 2, 0, 10, 2 },
        { "raised to the minimum", 0, 0, 3, 10, 3 },
        { "capped at the maximum", 100, 1, 0, 10, 10 },
        { "exactly the maximum", 36, 1, 0, 10, 10 },
        { "min and max equal: fixed count", 100, 0, 4, 4, 4 },
    };

    [Theory]
    [MemberData(nameof(DesiredCases))]
    public void Desired_Table(string name, int queue, int margin, int min, int max, int expected)
        => Assert.True(expected == Autoscaler.Desired(Function(margin: margin, min: min, max: max), queue), name);

    public static TheoryData<string, int, int, int, int, double?, int, int> UpCases => new()
    {
        // name, queue, margin, running, starting, previous BelowFor (s) => desired, starts (SLO 4, max 10)
        { "up by the formula", 10, 0, 1, 0, null, 3, 2 },
        { "up by the margin", 10, 2, 3, 0, null, 5, 2 },
        { "up to the maximum only", 1000, 0, 1, 0, null, 10, 9 },
        { "starting count, one more wanted", 16, 0, 1, 2, null, 4, 1 },
        { "from none", 1, 0, 0, 0, null, 1, 1 },
        { "up ignores a running window and closes it", 40, 0, 3, 0, 45, 10, 7 },
    };

    [Theory]
    [MemberData(nameof(UpCases))]
    public void Decide_Up_Table(string name, int queue, int margin, int running, int starting, double? belowFor, int desired, int starts)
    {
        var function = Function(slo: 4, margin: margin, max: 10);

        var result = DecideOne(function, queue, Instances(running, starting), belowFor is null ? null : TimeSpan.FromSeconds(belowFor.Value));

        var decision = Assert.Single(result.Decisions);
        Assert.True(desired == decision.Desired, $"{name}: desired {decision.Desired}");
        Assert.Equal((running + starting, starting), (decision.Current, decision.Starting));
        Assert.True(starts == decision.Starts.Count, $"{name}: {decision.Starts.Count} starts ({decision.Reason})");
        Assert.Empty(decision.Stops);
        Assert.Equal(0, decision.Shortfall);
        Assert.Null(decision.BelowFor);
        Assert.Empty(result.Previous);
        Assert.True(decision.Changed);
        Assert.False(string.IsNullOrWhiteSpace(decision.Reason));
    }

    public static TheoryData<string, int, int, int, int, double?, double?, int, int, double?> WindowCases => new()
    {
        // name, queue, margin, running, starting, previous BelowFor (s), window (s; null: the default)
        //   => desired, stops, new BelowFor (s) (SLO 4, max 10, 1 s since the previous pass)
        { "first pass below: window opens at zero", 4, 0, 3, 0, null, 60, 1, 0, 0 },
        { "below, window running", 4, 0, 3, 0, 30, 60, 1, 0, 31 },
        { "below for the whole window: down", 4, 0, 3, 0, 59, 60, 1, 2, null },
        { "window passed long ago: down", 4, 0, 3, 0, 500, 60, 1, 2, null },
        { "window zero: down at once", 4, 0, 3, 0, null, 0, 1, 2, null },
        { "default window (60 s): still waiting at 59 s", 4, 0, 3, 0, 58, null, 1, 0, 59 },
        { "default window (60 s): down at 60 s", 4, 0, 3, 0, 59, null, 1, 2, null },
        { "down by the margin's worth only", 4, 1, 5, 0, 60, 60, 2, 3, null },
        { "down to the maximum after it was lowered", 1000, 0, 12, 0, 60, 60, 10, 2, null },
        { "down removes starting ones too", 0, 0, 1, 2, 60, 60, 0, 3, null },
        { "starting ones count: below with them", 4, 0, 1, 2, null, 60, 1, 0, 0 },
    };

    [Theory]
    [MemberData(nameof(WindowCases))]
    public void Decide_Window_Table(string name, int queue, int margin, int running, int starting, double? belowFor, double? window,
        int desired, int stops, double? newBelowFor)
    {
        var function = Function(slo: 4, margin: margin, max: 10, window: window is null ? null : TimeSpan.FromSeconds(window.Value));

        var result = DecideOne(function, queue, Instances(running, starting), belowFor is null ? null : TimeSpan.FromSeconds(belowFor.Value));

        var decision = Assert.Single(result.Decisions);
        Assert.True(desired == decision.Desired, $"{name}: desired {decision.Desired}");
        Assert.Equal((running + starting, starting), (decision.Current, decision.Starting));
        Assert.Empty(decision.Starts);
        Assert.True(stops == decision.Stops.Count, $"{name}: {decision.Stops.Count} stops ({decision.Reason})");
        Assert.True(newBelowFor == decision.BelowFor?.TotalSeconds, $"{name}: BelowFor {decision.BelowFor}");
        Assert.Equal(newBelowFor, result.Previous.TryGetValue("f", out var carried) ? carried.BelowFor?.TotalSeconds : null);
        Assert.Equal(stops > 0, decision.Changed);
        Assert.False(string.IsNullOrWhiteSpace(decision.Reason));
    }

    public static TheoryData<string, int, int, int, double?> SteadyCases => new()
    {
        // name, queue, running, starting, previous BelowFor (s): at the desired count, no decision and no window
        { "at the desired count", 12, 3, 0, null },
        { "at the desired count with starting ones: no more starts", 12, 1, 2, null },
        { "back at the desired count: the window closes", 12, 3, 0, 40 },
        { "at the minimum with an empty queue", 0, 1, 0, null },
    };

    [Theory]
    [MemberData(nameof(SteadyCases))]
    public void Decide_Steady_NoDecisionAndWindowClosed(string name, int queue, int running, int starting, double? belowFor)
    {
        var result = DecideOne(Function(slo: 4, min: 1), queue, Instances(running, starting), belowFor is null ? null : TimeSpan.FromSeconds(belowFor.Value));

        Assert.True(result.Decisions.Count == 0, name);
        Assert.Empty(result.Previous);
    }

    [Fact]
    public void Decide_FormulaBeforeBounds_IsReportedWithTheBound()
    {
        var decision = Assert.Single(DecideOne(Function(slo: 4, margin: 1, max: 10), 100, Instances(1)).Decisions);

        Assert.Equal((100, 4, 1, 26, 10), (decision.QueueLength, decision.Slo, decision.Margin, decision.Formula, decision.Desired));
        Assert.Contains("capped at the maximum 10", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_QueueDropsThenStays_StopsExactlyWhenTheWindowIsFull()
    {
        var function = Function(slo: 4, window: TimeSpan.FromSeconds(3));
        var instances = Instances(4);
        ScalingResult? result = null;
        var stoppedAtPass = -1;
        for (var pass = 0; pass < 6 && stoppedAtPass < 0; pass++)
        {
            var previous = result?.Previous.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            result = Decide([function], Fleet(8), instances, new(StringComparer.Ordinal) { ["f"] = 4 }, previous, TimeSpan.FromSeconds(1));
            if (Assert.Single(result.Decisions).Changed)
            {
                stoppedAtPass = pass;
            }
        }

        // Pass 0 opens the window at 0 s; passes 1, 2, 3 bring it to 1, 2, 3 s: down at pass 3.
        Assert.Equal(3, stoppedAtPass);
        Assert.Equal(3, result!.Decisions[0].Stops.Count);
        Assert.Empty(result.Previous);
    }

    [Fact]
    public void Decide_QueueRisesDuringTheWindow_WindowStartsAgain()
    {
        var function = Function(slo: 4, window: TimeSpan.FromSeconds(60));
        var below = new Dictionary<string, ScalingPrevious>(StringComparer.Ordinal) { ["f"] = new(TimeSpan.FromSeconds(50)) };

        var atCount = Decide([function], Fleet(4), Instances(3), new(StringComparer.Ordinal) { ["f"] = 12 }, below);
        var belowAgain = Decide([function], Fleet(4), Instances(3), new(StringComparer.Ordinal) { ["f"] = 4 }, atCount.Previous.ToDictionary(StringComparer.Ordinal));

        Assert.Empty(atCount.Previous);
        Assert.Equal(TimeSpan.Zero, Assert.Single(belowAgain.Decisions).BelowFor);
    }

    // --- where: the ranking ---

    public static TheoryData<string, ScalingGpu, ScalingNode, ScalingGpu, ScalingNode, string> RankCases
    {
        get
        {
            static ScalingNode At(string id, int priority = 0, int weight = 500) => new(id, "c1", 1, true, priority, weight, []);
            return new()
            {
                // name, GPU on node a, node a, GPU on node b, node b => the node chosen
                { "shorter command queue wins over utilization and memory", Gpu("a-g0", queue: 1, utilization: 0, free: 80 * GiB), At("a"), Gpu("b-g0", queue: 0, utilization: 90, free: 20 * GiB), At("b"), "b" },
                { "equal queues: lower utilization", Gpu("a-g0", queue: 2, utilization: 30), At("a"), Gpu("b-g0", queue: 2, utilization: 31), At("b"), "a" },
                { "equal queue and utilization: more free memory", Gpu("a-g0", free: 40 * GiB), At("a"), Gpu("b-g0", free: 41 * GiB), At("b"), "b" },
                { "equal GPUs: lower node priority", Gpu("a-g0"), At("a", priority: 2), Gpu("b-g0"), At("b", priority: 1), "b" },
                { "equal GPUs and priority: higher weight", Gpu("a-g0"), At("a", weight: 100), Gpu("b-g0"), At("b", weight: 101), "b" },
                { "all equal: the node id", Gpu("a-g0"), At("a"), Gpu("b-g0"), At("b"), "a" },
                { "priority beats weight", Gpu("a-g0"), At("a", priority: 0, weight: 1), Gpu("b-g0"), At("b", priority: 1, weight: 1000), "a" },
                { "degraded idle ranks after ok busy", Gpu("a-g0", degraded: true), At("a"), Gpu("b-g0", queue: 50, utilization: 100, free: 11 * GiB), At("b", priority: 9, weight: 0), "b" },
                { "both degraded: the usual keys", Gpu("a-g0", queue: 1, degraded: true), At("a"), Gpu("b-g0", degraded: true), At("b"), "b" },
                { "an estimate keeps its fraction: 0.2 is not a queued kernel", Gpu("a-g0", queue: 1, source: QueueSource.Reported), At("a"), Gpu("b-g0", queue: 0.2, utilization: 20), At("b"), "b" },
                { "estimates a thousandth apart: the shorter", Gpu("a-g0", queue: 0.301), At("a"), Gpu("b-g0", queue: 0.3, utilization: 50), At("b"), "b" },
                { "equal queues: measured before estimated", Gpu("a-g0", queue: 2), At("a"), Gpu("b-g0", queue: 2, utilization: 50, source: QueueSource.Reported), At("b"), "b" },
                { "equal queues: measured before estimated (the probe's count)", Gpu("a-g0", queue: 3), At("a"), Gpu("b-g0", queue: 3, utilization: 50, source: QueueSource.Measured), At("b"), "b" },
                { "a measured queue ranks by its length like a reported one", Gpu("a-g0", queue: 4, source: QueueSource.Measured), At("a"), Gpu("b-g0", queue: 3, source: QueueSource.Reported), At("b"), "b" },
                { "an unknown queue ranks after a known busy one", Gpu("a-g0", source: QueueSource.Unknown), At("a"), Gpu("b-g0", queue: 30, utilization: 100, source: QueueSource.Reported), At("b"), "b" },
                { "degraded still ranks after an unknown queue", Gpu("a-g0", degraded: true, source: QueueSource.Reported), At("a"), Gpu("b-g0", source: QueueSource.Unknown), At("b"), "b" },
            };
        }
    }

    [Theory]
    [MemberData(nameof(RankCases))]
    public void Decide_Ranking_Table(string name, ScalingGpu gpuA, ScalingNode a, ScalingGpu gpuB, ScalingNode b, string expected)
    {
        var result = Decide([Function()], [a with { Gpus = [gpuA] }, b with { Gpus = [gpuB] }], [], new(StringComparer.Ordinal) { ["f"] = 1 });

        var decision = Assert.Single(result.Decisions);
        var start = Assert.Single(decision.Starts);
        Assert.True(expected == start.NodeId, $"{name}: started on '{start.NodeId}'");
        Assert.Equal(1, start.Rank);
        Assert.Equal([expected, expected == "a" ? "b" : "a"], decision.Candidates.Select(c => c.NodeId));
        Assert.Equal([1, 2], decision.Candidates.Select(c => c.Rank));
    }

    // --- where: GPU health (the agent's table makes ok, degraded, unhealthy, lost; the aggregator passes
    // unhealthy and lost as not Healthy). Rows: each GPU's health, one per node a, b, c, the first idle, the
    // last busiest; the nodes started on, in order, for three wanted.

    public static TheoryData<string, string, string> HealthCases => new()
    {
        // ok = O, degraded = D, not placeable (unhealthy, lost) = X; the idlest first
        { "all ok: by load", "OOO", "abc" },
        { "an idle degraded GPU goes after the busier ok ones", "DOO", "bca" },
        { "an idle unhealthy GPU is never placed on", "XOO", "bc" },
        { "only degraded left: they are used", "DDX", "ab" },
        { "nothing placeable: no start", "XXX", "" },
        { "ok between two not ok: it alone first", "DOX", "ba" },
    };

    [Theory]
    [MemberData(nameof(HealthCases))]
    public void Decide_GpuHealth_Table(string name, string health, string expected)
    {
        var nodes = health.Select((h, i) => Node(
            ((char)('a' + i)).ToString(),
            Gpu($"{(char)('a' + i)}-g0", queue: i, utilization: 10 * i, healthy: h != 'X', degraded: h == 'D'))).ToArray();

        var result = Decide([Function()], nodes, [], new(StringComparer.Ordinal) { ["f"] = 12 });

        var decision = Assert.Single(result.Decisions);
        Assert.True(expected == string.Concat(decision.Starts.Select(s => s.NodeId)), $"{name}: started on '{string.Concat(decision.Starts.Select(s => s.NodeId))}'");
        Assert.Equal(expected, string.Concat(decision.Candidates.Select(c => c.NodeId)));
    }

    [Fact]
    public void Decide_NotOkGpuOnAnIdleNode_NodeUsesItsOkGpuFirst()
    {
        var node = Node("a", Gpu("a-g0", degraded: true), Gpu("a-g1", queue: 9, utilization: 100), Gpu("a-g2", healthy: false));

        var decision = Assert.Single(Decide([Function()], [node], [], new(StringComparer.Ordinal) { ["f"] = 1 }).Decisions);

        Assert.Equal("a-g1", Assert.Single(decision.Starts).GpuUuid);
    }

    [Fact]
    public void Decide_NodeWithSeveralGpus_StartsOnItsBestGpu()
    {
        var node = Node("a", Gpu("a-g0", queue: 3), Gpu("a-g1", queue: 1), Gpu("a-g2", queue: 2));

        var decision = Assert.Single(Decide([Function()], [node], [], new(StringComparer.Ordinal) { ["f"] = 1 }).Decisions);

        Assert.Equal(("a", "a-g1"), (decision.Starts[0].NodeId, decision.Starts[0].GpuUuid));
        // One candidate per node: its other GPUs are not candidates of their own.
        Assert.Single(decision.Candidates);
    }

    [Fact]
    public void Decide_BestGpuOnANodeRunningTheFunction_GoesToTheNextNode()
    {
        var nodes = new[] { Node("a", Gpu("a-g0", queue: 0)), Node("b", Gpu("b-g0", queue: 5)), Node("c", Gpu("c-g0", queue: 9)) };

        var decision = Assert.Single(Decide([Function()], nodes, [Running("i1", "a", "a-g0")], new(StringComparer.Ordinal) { ["f"] = 8 }).Decisions);

        Assert.Equal(["b"], decision.Starts.Select(s => s.NodeId));
        Assert.DoesNotContain(decision.Candidates, c => c.NodeId == "a");
    }

    [Fact]
    public void Decide_StartingInstanceOnANode_NodeIsTakenToo()
    {
        var nodes = new[] { Node("a", Gpu("a-g0")), Node("b", Gpu("b-g0", queue: 1)) };

        var decision = Assert.Single(Decide([Function()], nodes, [Starting("i1", "a")], new(StringComparer.Ordinal) { ["f"] = 8 }).Decisions);

        Assert.Equal(["b"], decision.Starts.Select(s => s.NodeId));
    }

    [Fact]
    public void Decide_IneligibleNode_NeverACandidate()
    {
        var nodes = new[] { Node("a", Gpu("a-g0")) with { Eligible = false }, Node("b", Gpu("b-g0", queue: 7)) };

        var decision = Assert.Single(Decide([Function()], nodes, [], new(StringComparer.Ordinal) { ["f"] = 8 }).Decisions);

        Assert.Equal(["b"], decision.Starts.Select(s => s.NodeId));
        Assert.Equal(1, decision.Shortfall);
        Assert.Equal(["b"], decision.Candidates.Select(c => c.NodeId));
    }

    [Fact]
    public void Decide_GpuLost_NodeUsesItsHealthyGpu()
    {
        var node = Node("a", Gpu("a-g0", healthy: false), Gpu("a-g1", queue: 4));

        var decision = Assert.Single(Decide([Function()], [node], [], new(StringComparer.Ordinal) { ["f"] = 1 }).Decisions);

        Assert.Equal("a-g1", Assert.Single(decision.Starts).GpuUuid);
    }

    [Fact]
    public void Decide_EveryGpuLost_ShortfallWithNoCandidate()
    {
        var decision = Assert.Single(Decide([Function()], [Node("a", Gpu("a-g0", healthy: false))], [], new(StringComparer.Ordinal) { ["f"] = 1 }).Decisions);

        Assert.Empty(decision.Starts);
        Assert.Empty(decision.Candidates);
        Assert.Equal(1, decision.Shortfall);
        Assert.False(decision.Changed);
    }

    [Fact]
    public void Decide_TooLittleMemoryOnTheBestGpu_UsesTheNodesGpuWithEnough()
    {
        var node = Node("a", Gpu("a-g0", queue: 0, free: 9 * GiB), Gpu("a-g1", queue: 6, free: 10 * GiB));

        var decision = Assert.Single(Decide([Function(memory: 10 * GiB)], [node], [], new(StringComparer.Ordinal) { ["f"] = 1 }).Decisions);

        Assert.Equal("a-g1", Assert.Single(decision.Starts).GpuUuid);
    }

    [Fact]
    public void Decide_TooLittleMemoryAnywhere_ShortfallWithTheReason()
    {
        var decision = Assert.Single(Decide([Function(memory: 90 * GiB)], Fleet(3), [], new(StringComparer.Ordinal) { ["f"] = 8 }).Decisions);

        Assert.Equal((0, 2), (decision.Starts.Count, decision.Shortfall));
        Assert.Contains($"{90 * GiB} bytes free", decision.Reason, StringComparison.Ordinal);
    }

    // --- MIG: a MIG instance is a GPU of its own; a function's gpu request picks the kind ---
    // One GPU a node, a..f, by queue: a whole 0, f MIG 1g.10gb 0.25, c MIG 3g.40gb 0.5, b MIG 1g.10gb 1,
    // d MIG of unknown profile 2, e whole 3. Rows: the request, the nodes started on in order (five wanted).

    public static TheoryData<string, string> MigRequestCases => new()
    {
        { "any", "afcbd" },
        { "whole", "ae" },
        { "mig", "fcbd" },
        { "mig:1g.10gb", "fb" },
        { "mig:3g.40gb", "c" },
        { "mig:7g.80gb", "" },
    };

    [Theory]
    [MemberData(nameof(MigRequestCases))]
    public void Decide_GpuRequest_Table(string gpu, string expected)
    {
        ScalingNode[] nodes =
        [
            Node("a", Gpu("a-g0", queue: 0)),
            Node("b", Gpu("b-mig", queue: 1, mig: "1g.10gb")),
            Node("c", Gpu("c-mig", queue: 0.5, mig: "3g.40gb")),
            Node("d", Gpu("d-mig", queue: 2, mig: "")),
            Node("e", Gpu("e-g0", queue: 3)),
            Node("f", Gpu("f-mig", queue: 0.25, mig: "1g.10gb")),
        ];

        var decision = Assert.Single(Decide([Function() with { Gpu = Request(gpu), MaxInstances = 5 }], nodes, [], new(StringComparer.Ordinal) { ["f"] = 20 }).Decisions);

        Assert.True(expected == string.Concat(decision.Starts.Select(s => s.NodeId)), $"{gpu}: started on '{string.Concat(decision.Starts.Select(s => s.NodeId))}'");
        Assert.Equal(expected, string.Concat(decision.Candidates.Select(c => c.NodeId)));
        Assert.Equal(5 - expected.Length, decision.Shortfall);
    }

    /// <summary>
    /// A node as the reconciler passes it: a whole GPU, a MIG-enabled GPU (not healthy: never placed on itself)
    /// and its two 1g.10gb instances, the busier reported at 3, the other at 0; each ranked by its own queue.
    /// </summary>
    [Theory]
    [InlineData("mig:1g.10gb", "a-g1-mig1")]
    [InlineData("mig", "a-g1-mig1")]
    [InlineData("whole", "a-g0")]
    [InlineData("any", "a-g1-mig1")]
    public void Decide_NodeWithMigInstances_EachRankedByItsOwnQueueParentNever(string gpu, string expected)
    {
        var node = Node(
            "a",
            Gpu("a-g0", queue: 1),
            Gpu("a-g1", queue: 0, healthy: false),
            Gpu("a-g1-mig0", queue: 3, source: QueueSource.Reported, mig: "1g.10gb"),
            Gpu("a-g1-mig1", queue: 0, source: QueueSource.Reported, mig: "1g.10gb"));

        var decision = Assert.Single(Decide([Function() with { Gpu = Request(gpu) }], [node], [], new(StringComparer.Ordinal) { ["f"] = 1 }).Decisions);

        Assert.Equal(expected, Assert.Single(decision.Starts).GpuUuid);
    }

    [Fact]
    public void Decide_AnyWithMigQueuesUnknown_WholeGpusFirstThenTheMigInstances()
    {
        // A MIG instance whose queue its agent cannot tell (no reports, no activity to estimate from) ranks after known ones, as any GPU would.
        var nodes = new[]
        {
            Node("a", Gpu("a-mig", queue: 0, source: QueueSource.Unknown, mig: "1g.10gb")),
            Node("b", Gpu("b-g0", queue: 4, utilization: 90)),
        };

        var decision = Assert.Single(Decide([Function()], nodes, [], new(StringComparer.Ordinal) { ["f"] = 8 }).Decisions);

        Assert.Equal(["b-g0", "a-mig"], decision.Starts.Select(s => s.GpuUuid));
    }

    [Fact]
    public void Decide_WholeWithOnlyMigInstancesFree_ShortfallNamingTheRequest()
    {
        var nodes = new[] { Node("a", Gpu("a-mig", mig: "1g.10gb")), Node("b", Gpu("b-g0", healthy: false), Gpu("b-mig", mig: "3g.40gb")) };

        var decision = Assert.Single(Decide([Function() with { Gpu = Request("whole") }], nodes, [], new(StringComparer.Ordinal) { ["f"] = 4 }).Decisions);

        Assert.Equal((0, 1), (decision.Starts.Count, decision.Shortfall));
        Assert.Empty(decision.Candidates);
        Assert.Contains($"no eligible node without an instance has a healthy GPU that fits 'whole' with {10 * GiB} bytes free", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_MigProfileShortOfInstances_ReasonNamesTheProfileAnyDoesNot()
    {
        var nodes = new[] { Node("a", Gpu("a-mig", mig: "1g.10gb")), Node("b", Gpu("b-g0")) };

        var mig = Assert.Single(Decide([Function() with { Gpu = Request("mig:1g.10gb") }], nodes, [], new(StringComparer.Ordinal) { ["f"] = 8 }).Decisions);
        var any = Assert.Single(Decide([Function(memory: 90 * GiB)], nodes, [], new(StringComparer.Ordinal) { ["f"] = 8 }).Decisions);

        Assert.Equal(["a-mig"], mig.Starts.Select(s => s.GpuUuid));
        Assert.Contains("1 start and 1 cannot: no other eligible node without an instance has a healthy GPU that fits 'mig:1g.10gb' with", mig.Reason, StringComparison.Ordinal);
        Assert.Contains($"has a healthy GPU with {90 * GiB} bytes free", any.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_TwoFunctionsOnOneMigInstance_MemoryTheFirstTookIsSeenByTheSecond()
    {
        // One ranking for the pass: 'a' takes 8 GiB of the 10 GiB instance; 'b' goes to the next instance.
        var nodes = new[] { Node("n1", Gpu("n1-mig", free: 10 * GiB, mig: "1g.10gb")), Node("n2", Gpu("n2-mig", queue: 2, free: 10 * GiB, mig: "1g.10gb")) };
        var request = Request("mig:1g.10gb");

        var result = Decide(
            [Function("a", memory: 8 * GiB) with { Gpu = request }, Function("b", memory: 8 * GiB) with { Gpu = request }],
            nodes,
            [],
            new(StringComparer.Ordinal) { ["a"] = 1, ["b"] = 1 });

        Assert.Equal([("a", "n1-mig"), ("b", "n2-mig")], result.Decisions.Select(d => (d.Function, Assert.Single(d.Starts).GpuUuid)));
    }

    [Fact]
    public void Decide_NoNodes_ShortfallOfAllWanted()
    {
        var decision = Assert.Single(Decide([Function(margin: 3)], [], []).Decisions);

        Assert.Equal((3, 0, 3), (decision.Desired, decision.Starts.Count, decision.Shortfall));
    }

    [Fact]
    public void Decide_FewerCandidatesThanWanted_PlacesWhatFitsAndRecordsTheShortfall()
    {
        var decision = Assert.Single(Decide([Function()], Fleet(3), [Running("i1", "n00")], new(StringComparer.Ordinal) { ["f"] = 20 }).Decisions);

        Assert.Equal(5, decision.Desired);
        Assert.Equal(["n01", "n02"], decision.Starts.Select(s => s.NodeId));
        Assert.Equal(2, decision.Shortfall);
        Assert.True(decision.Changed);
    }

    [Fact]
    public void Decide_ManyCandidates_ReportsTheTopFewWithTheirNumbers()
    {
        var nodes = Enumerable.Range(0, 20).Select(i => Node($"n{i:00}", Gpu($"n{i:00}-g0", queue: 20 - i, utilization: i, free: (40 + i) * GiB))).ToArray();

        var decision = Assert.Single(Decide([Function()], nodes, [], new(StringComparer.Ordinal) { ["f"] = 1 }).Decisions);

        Assert.Equal(Autoscaler.CandidatesReported, decision.Candidates.Count);
        Assert.Equal(["n19", "n18", "n17", "n16", "n15"], decision.Candidates.Select(c => c.NodeId));
        Assert.Equal(new ScalingCandidate("n19", "n19-g0", 1, 19, 59 * GiB, 0, 500, 1), decision.Candidates[0]);
        Assert.Equal(new ScalingStart("n19", "n19-g0", 1), Assert.Single(decision.Starts));
    }

    [Fact]
    public void Decide_Candidates_CarryWhereTheirQueueCameFrom()
    {
        var nodes = new[]
        {
            Node("a", Gpu("a-g0", queue: 5, source: QueueSource.Measured)),
            Node("b", Gpu("b-g0", queue: 0.2, utilization: 20)),
        };

        var decision = Assert.Single(Decide([Function()], nodes, [], new(StringComparer.Ordinal) { ["f"] = 1 }).Decisions);

        Assert.Equal([("b", QueueSource.Estimated, 0.2), ("a", QueueSource.Measured, 5.0)], decision.Candidates.Select(c => (c.NodeId, c.QueueSource, c.CommandQueueLength)));
    }

    [Fact]
    public void Decide_TwoFunctionsOneGpuWithRoomForOne_MemoryTakenByTheFirstStartCounts()
    {
        // 50 GiB on a, 45 GiB on b: "f1" (first by name) takes a, leaving 20 GiB, so "f2" goes to b.
        var nodes = new[] { Node("a", Gpu("a-g0", free: 50 * GiB)), Node("b", Gpu("b-g0", free: 45 * GiB)) };

        var result = Decide([Function("f2", memory: 30 * GiB), Function("f1", memory: 30 * GiB)], nodes, [],
            new(StringComparer.Ordinal) { ["f1"] = 1, ["f2"] = 1 });

        Assert.Equal(["f1", "f2"], result.Decisions.Select(d => d.Function));
        Assert.Equal("a", Assert.Single(result.Decisions[0].Starts).NodeId);
        Assert.Equal("b", Assert.Single(result.Decisions[1].Starts).NodeId);
        Assert.Equal(45 * GiB, result.Decisions[1].Candidates[0].MemoryFreeBytes);
    }

    [Fact]
    public void Decide_MemoryTakenMovesTheGpuDown_NextFunctionSeesTheNewOrder()
    {
        // a leads by 2 GiB; after a 5 GiB start on it, b leads.
        var nodes = new[] { Node("a", Gpu("a-g0", free: 80 * GiB)), Node("b", Gpu("b-g0", free: 78 * GiB)), Node("c", Gpu("c-g0", free: 77 * GiB)) };
        var functions = new[] { Function("f1", memory: 5 * GiB), Function("f2", memory: 5 * GiB), Function("f3", memory: 5 * GiB) };

        var result = Decide(functions, nodes, [], new(StringComparer.Ordinal) { ["f1"] = 1, ["f2"] = 1, ["f3"] = 1 });

        Assert.Equal(["a", "b", "c"], result.Decisions.Select(d => Assert.Single(d.Starts).NodeId));
        // f3 sees c at 77, a at 80 - 5, b at 78 - 5.
        Assert.Equal([77 * GiB, 75 * GiB, 73 * GiB], result.Decisions[2].Candidates.Select(c => c.MemoryFreeBytes));
    }

    // --- scale down: which instances ---

    [Fact]
    public void Decide_ScaleDown_RemovesFromTheWorstRankedFirst()
    {
        var nodes = new[]
        {
            Node("idle", Gpu("idle-g0", queue: 0)),
            Node("busy", Gpu("busy-g0", queue: 9)),
            Node("mid", Gpu("mid-g0", queue: 4)),
            Node("lost-gpu", Gpu("lost-gpu-g0", healthy: false)),
            Node("penalised", Gpu("penalised-g0", queue: 0)) with { Eligible = false },
            Node("hot", Gpu("hot-g0", queue: 4, utilization: 99)),
            Node("idle2", Gpu("idle2-g0")),
        };
        var instances = new[]
        {
            Running("i-idle", "idle"),
            Running("i-busy", "busy"),
            Running("i-mid", "mid"),
            Running("i-lost", "lost-gpu"),
            Running("i-penalised", "penalised"),
            Running("i-gone", "gone-node"),
            Running("i-unknown", "idle2", gpu: null) with { GpuUuid = null },
            Running("i-hot", "hot"),
        };

        var decision = Assert.Single(DecideDown(nodes, instances, desired: 1).Decisions);

        // Unknown or lost GPUs first (a node not in the snapshot has no weight; then by node id, last first),
        // then the ineligible node, then the busiest GPU; the idle one stays.
        Assert.Equal(["i-gone", "i-lost", "i-unknown", "i-penalised", "i-busy", "i-hot", "i-mid"], decision.Stops.Select(s => s.InstanceId));
    }

    /// <summary>Placement's last choice is scale-down's first: an instance on a degraded GPU stops before one on a sound busy GPU.</summary>
    [Fact]
    public void Decide_ScaleDown_DegradedGpuBeforeSoundOnes()
    {
        var nodes = new[] { Node("sound-busy", Gpu("sb-g0", queue: 9, utilization: 100)), Node("degraded-idle", Gpu("di-g0", degraded: true)), Node("sound-idle", Gpu("si-g0")) };
        var instances = new[] { Running("i-busy", "sound-busy", gpu: "sb-g0"), Running("i-degraded", "degraded-idle", gpu: "di-g0"), Running("i-idle", "sound-idle", gpu: "si-g0") };

        var decision = Assert.Single(DecideDown(nodes, instances, desired: 1).Decisions);

        Assert.Equal(["i-degraded", "i-busy"], decision.Stops.Select(s => s.InstanceId));
    }

    [Fact]
    public void Decide_ScaleDownAmongEquals_PrefersTheInstanceWithNothingInFlight()
    {
        var nodes = new[] { Node("a", Gpu("a-g0", queue: 2)), Node("b", Gpu("b-g0", queue: 2)), Node("c", Gpu("c-g0", queue: 2)) };
        var instances = new[] { Running("i-a", "a", inFlight: 0), Running("i-b", "b", inFlight: 3), Running("i-c", "c", inFlight: 1) };

        var decision = Assert.Single(DecideDown(nodes, instances, desired: 1).Decisions);

        Assert.Equal([("i-a", 0), ("i-c", 1)], decision.Stops.Select(s => (s.InstanceId, s.InFlight)));
    }

    [Fact]
    public void Decide_ScaleDownBusiestHasRequests_StillTheBusiestGpuFirst()
    {
        // In flight only breaks ties between equally ranked GPUs; the actuator drains the chosen one.
        var nodes = new[] { Node("a", Gpu("a-g0", queue: 1)), Node("b", Gpu("b-g0", queue: 8)) };

        var decision = Assert.Single(DecideDown(nodes, [Running("i-a", "a"), Running("i-b", "b", inFlight: 4)], desired: 1).Decisions);

        Assert.Equal(new ScalingStop("i-b", "b", "b-g0", 4), Assert.Single(decision.Stops));
    }

    /// <summary>Rows: instances on known nodes, instances on awaited nodes, desired; the stops (awaited ones never), and the current count.</summary>
    [Theory]
    [InlineData(2, 1, 1, 2, 3)]
    [InlineData(0, 2, 1, 0, 2)]
    [InlineData(1, 1, 0, 1, 2)]
    [InlineData(3, 0, 1, 2, 3)]
    public void Decide_ScaleDownWithAwaitedInstances_CountsThemAndNeverStopsThem(int known, int awaited, int desired, int stops, int current)
    {
        var instances = Enumerable.Range(0, known).Select(i => Running($"k{i}", $"n{i:00}"))
            .Concat(Enumerable.Range(0, awaited).Select(i => Starting($"a{i}", $"away{i}") with { Awaited = true }))
            .ToArray();

        var decision = Assert.Single(DecideDown(Fleet(4), instances, desired).Decisions);

        Assert.Equal((current, stops), (decision.Current, decision.Stops.Count));
        Assert.DoesNotContain(decision.Stops, s => s.InstanceId.StartsWith('a'));
    }

    [Fact]
    public void Decide_AwaitedInstanceCounts_NoStartInItsPlace()
    {
        var function = Function(min: 2, max: 2);
        var result = DecideOne(function, 0, [Running("k0", "n00"), Starting("a0", "away") with { Awaited = true }]);

        Assert.DoesNotContain(result.Decisions, d => d.Starts.Count > 0);
    }

    [Fact]
    public void Decide_ScaleDown_NeverBelowTheMinimum()
    {
        var decision = Assert.Single(DecideOne(Function(min: 2, window: TimeSpan.Zero), 0, Instances(5)).Decisions);

        Assert.Equal((2, 3), (decision.Desired, decision.Stops.Count));
    }

    /// <summary>A function at <paramref name="desired"/> (its margin, empty queue) with a zero window: down at once.</summary>
    private static ScalingResult DecideDown(ScalingNode[] nodes, ScalingInstance[] instances, int desired)
        => Decide([Function(margin: desired, window: TimeSpan.Zero)], nodes, instances);

    // --- the pass as a whole ---

    [Fact]
    public void Decide_SeveralFunctions_DecisionsOnlyForThoseThatChangeOrWait_ByName()
    {
        var functions = new[] { Function("zeta"), Function("alpha"), Function("steady"), Function("waiting") };
        var instances = new[]
        {
            Running("s1", "n00", function: "steady"),
            Running("w1", "n00", function: "waiting"),
            Running("w2", "n01", function: "waiting"),
            Running("x1", "n00", function: "deleted"),
        };
        var queues = new Dictionary<string, int>(StringComparer.Ordinal) { ["zeta"] = 4, ["alpha"] = 8, ["steady"] = 4, ["waiting"] = 4 };

        var result = Decide(functions, Fleet(4), instances, queues);

        Assert.Equal(["alpha", "waiting", "zeta"], result.Decisions.Select(d => d.Function));
        Assert.Equal(["waiting"], result.Previous.Keys);
        Assert.Equal(TimeSpan.Zero, result.Previous["waiting"].BelowFor);
    }

    [Fact]
    public void Decide_InstancesOfAnUndefinedFunction_AreNoCapacityAndNoNodeIsTakenForIt()
    {
        var decision = Assert.Single(Decide([Function()], Fleet(1), [Running("x1", "n00", function: "other")], new(StringComparer.Ordinal) { ["f"] = 1 }).Decisions);

        Assert.Equal((0, "n00"), (decision.Current, Assert.Single(decision.Starts).NodeId));
    }

    [Fact]
    public void Decide_SameSnapshotTwice_SameDecisions()
    {
        var random = new Random(7);
        var snapshot = RandomSnapshot(random);

        var first = Autoscaler.Decide(snapshot);
        var second = Autoscaler.Decide(snapshot);

        Assert.Equal(Describe(first), Describe(second));
    }

    // --- randomized: invariants, and the starts against a plain re-sort after every start ---

    [Theory]
    [InlineData(20261201, null)]
    [InlineData(1, null)]
    [InlineData(424242, null)]
    [InlineData(20261201, 1)]
    [InlineData(1, 2)]
    [InlineData(424242, 5)]
    public void Decide_Randomized_InvariantsHoldAndStartsMatchAPlainReSort(int seed, int? selectedGpus)
    {
        var random = new Random(seed);
        int starts = 0, shortfalls = 0, stops = 0, waits = 0;
        for (var round = 0; round < 300; round++)
        {
            var snapshot = RandomSnapshot(random);

            // A small first selection makes these small fleets take the path a large pass takes when it reads past it.
            var result = Autoscaler.Decide(snapshot, selectedGpus);

            CheckInvariants(snapshot, result, round);
            Assert.Equal(ReferenceStarts(snapshot), result.Decisions.SelectMany(d => d.Starts.Select(s => (d.Function, s.NodeId, s.GpuUuid))).ToList());
            starts += result.Decisions.Sum(d => d.Starts.Count);
            shortfalls += result.Decisions.Count(d => d.Shortfall > 0);
            stops += result.Decisions.Sum(d => d.Stops.Count);
            waits += result.Previous.Count;
        }

        // The rounds must reach every branch, or the invariants above prove little.
        Assert.True(starts > 100 && shortfalls > 30 && stops > 30 && waits > 10, $"starts {starts}, shortfalls {shortfalls}, stops {stops}, waits {waits}");
    }

    private static void CheckInvariants(ScalingSnapshot snapshot, ScalingResult result, int round)
    {
        var nodes = snapshot.Nodes.ToDictionary(n => n.NodeId, StringComparer.Ordinal);
        var freeLeft = snapshot.Nodes.SelectMany(n => n.Gpus).ToDictionary(g => g.Uuid, g => g.MemoryFreeBytes, StringComparer.Ordinal);
        var functions = snapshot.Functions.ToDictionary(f => f.Name, StringComparer.Ordinal);
        Assert.Equal(result.Decisions.Select(d => d.Function).Order(StringComparer.Ordinal), result.Decisions.Select(d => d.Function));
        foreach (var decision in result.Decisions)
        {
            var function = functions[decision.Function];
            var mine = snapshot.Instances.Where(i => i.Function == function.Name).ToList();
            var queue = snapshot.QueueLengths.GetValueOrDefault(function.Name);
            Assert.Equal(Autoscaler.Formula(queue, function.Slo, function.Margin), decision.Formula);
            Assert.Equal(Math.Min(Math.Max(decision.Formula, function.MinInstances), function.MaxInstances), decision.Desired);
            Assert.Equal(mine.Count, decision.Current);
            Assert.NotEqual(decision.Desired, decision.Current);
            Assert.False(decision.Starts.Count > 0 && decision.Stops.Count > 0, $"round {round}: '{decision.Function}' starts and stops");

            // Never two instances of one function on a node.
            var hosts = mine.Select(i => i.NodeId).ToList();
            hosts.AddRange(decision.Starts.Select(s => s.NodeId));
            Assert.Equal(hosts.Count, hosts.Distinct(StringComparer.Ordinal).Count());

            foreach (var start in decision.Starts)
            {
                // Never an ineligible node, never a lost GPU, never a GPU of another kind than asked for, never a GPU
                // without the memory (this pass's starts counted).
                var node = nodes[start.NodeId];
                Assert.True(node.Eligible, $"round {round}: start on ineligible node '{start.NodeId}'");
                var gpu = Assert.Single(node.Gpus, g => g.Uuid == start.GpuUuid);
                Assert.True(gpu.Healthy);
                Assert.True(function.Gpu.Fits(gpu), $"round {round}: '{function.Name}' asks for '{function.Gpu}' and starts on GPU '{gpu.Uuid}' (MIG profile '{gpu.MigProfile ?? "none: whole"}')");
                freeLeft[gpu.Uuid] -= function.GpuMemoryBytes;
                Assert.True(freeLeft[gpu.Uuid] >= 0, $"round {round}: GPU '{gpu.Uuid}' over-committed");
            }

            Assert.Equal(decision.Current + decision.Starts.Count + decision.Shortfall,
                decision.Desired > decision.Current ? decision.Desired : decision.Current + decision.Starts.Count);
            Assert.True(decision.Current + decision.Starts.Count <= Math.Max(function.MaxInstances, decision.Current));

            // Stops: distinct instances of this function, never below the minimum or the desired count.
            Assert.Equal(decision.Stops.Count, decision.Stops.Select(s => s.InstanceId).Distinct(StringComparer.Ordinal).Count());
            Assert.All(decision.Stops, s => Assert.Contains(mine, i => i.InstanceId == s.InstanceId && i.NodeId == s.NodeId));
            Assert.True(decision.Stops.Count == 0 || decision.Current - decision.Stops.Count == decision.Desired);
            Assert.True(decision.Current - decision.Stops.Count >= Math.Min(function.MinInstances, decision.Current));
            Assert.Equal(decision.Starts.Count + decision.Stops.Count > 0, decision.Changed);
            Assert.Equal(decision.BelowFor, result.Previous.TryGetValue(decision.Function, out var p) ? p.BelowFor : null);
        }

        // Functions without a decision are at their desired count.
        foreach (var function in snapshot.Functions.Where(f => result.Decisions.All(d => d.Function != f.Name)))
        {
            Assert.Equal(Autoscaler.Desired(function, snapshot.QueueLengths.GetValueOrDefault(function.Name)), snapshot.Instances.Count(i => i.Function == function.Name));
        }
    }

    /// <summary>
    /// The placement the way the issue states it, with no cleverness: functions by name; for every
    /// start, every usable GPU re-sorted by the ranking with what earlier starts took.
    /// </summary>
    private static List<(string Function, string NodeId, string GpuUuid)> ReferenceStarts(ScalingSnapshot snapshot)
    {
        var free = snapshot.Nodes.SelectMany(n => n.Gpus).ToDictionary(g => g.Uuid, g => g.MemoryFreeBytes, StringComparer.Ordinal);
        var starts = new List<(string, string, string)>();
        foreach (var function in snapshot.Functions.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            var mine = snapshot.Instances.Where(i => i.Function == function.Name).ToList();
            var wanted = Autoscaler.Desired(function, snapshot.QueueLengths.GetValueOrDefault(function.Name)) - mine.Count;
            var hosts = mine.Select(i => i.NodeId).ToHashSet(StringComparer.Ordinal);
            for (var k = 0; k < wanted; k++)
            {
                var best = snapshot.Nodes
                    .Where(n => n.Eligible && !hosts.Contains(n.NodeId))
                    .SelectMany(n => n.Gpus.Select((g, index) => (Node: n, Gpu: g, Index: index)))
                    .Where(x => x.Gpu.Healthy && free[x.Gpu.Uuid] >= function.GpuMemoryBytes && function.Gpu.Fits(x.Gpu))
                    .OrderBy(x => x.Gpu.Degraded)
                    .ThenBy(x => x.Gpu.CommandQueueLength)
                    .ThenBy(x => x.Gpu.UtilizationPercent)
                    .ThenByDescending(x => free[x.Gpu.Uuid])
                    .ThenBy(x => x.Node.Priority)
                    .ThenByDescending(x => x.Node.Weight)
                    .ThenBy(x => x.Node.NodeId, StringComparer.Ordinal)
                    .ThenBy(x => x.Index)
                    .FirstOrDefault();
                if (best.Node is null)
                {
                    break;
                }

                hosts.Add(best.Node.NodeId);
                free[best.Gpu.Uuid] -= function.GpuMemoryBytes;
                starts.Add((function.Name, best.Node.NodeId, best.Gpu.Uuid));
            }
        }

        return starts;
    }

    /// <summary>Whole GPUs half the time; MIG instances of one of two profiles or of an unknown one.</summary>
    private static readonly string?[] RandomProfiles = [null, null, null, "1g.10gb", "1g.10gb", "3g.40gb", ""];

    /// <summary>Any GPU most of the time, else each other kind of request.</summary>
    private static readonly GpuRequest[] RandomRequests =
        [default, default, default, new(GpuRequestKind.Whole, null), new(GpuRequestKind.Mig, null), new(GpuRequestKind.Mig, "1g.10gb")];

    /// <summary>
    /// A small fleet with few distinct values, so that ties, full nodes, lost GPUs, short memory and GPUs of
    /// the wrong kind (whole or MIG, another profile) all come up often.
    /// </summary>
    private static ScalingSnapshot RandomSnapshot(Random random)
    {
        var nodes = Enumerable.Range(0, random.Next(0, 9)).Select(n => new ScalingNode(
                $"n{n}",
                $"c{random.Next(2)}",
                n,
                Eligible: random.Next(5) > 0,
                Priority: random.Next(2),
                Weight: random.Next(2) * 100,
                Enumerable.Range(0, random.Next(0, 4))
                    .Select(g => new ScalingGpu($"n{n}-g{g}", random.Next(6) > 0, random.Next(0, 5) * 10 * GiB, random.Next(3), random.Next(3) * 50, Degraded: random.Next(5) == 0, MigProfile: RandomProfiles[random.Next(RandomProfiles.Length)]))
                    .ToArray()))
            .ToArray();
        var functions = Enumerable.Range(0, random.Next(1, 5)).Select(f => new ScalingFunction(
                $"f{f}",
                random.Next(1, 5),
                random.Next(0, 3),
                random.Next(0, 3),
                random.Next(3, 10),
                random.Next(0, 4) * 10 * GiB,
                random.Next(3) == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(random.Next(1, 5)),
                RandomRequests[random.Next(RandomRequests.Length)]))
            .ToArray();
        var instances = new List<ScalingInstance>();
        foreach (var function in functions)
        {
            foreach (var node in nodes.Where(_ => random.Next(3) == 0))
            {
                var gpu = node.Gpus.Count == 0 || random.Next(8) == 0 ? null : node.Gpus[random.Next(node.Gpus.Count)].Uuid;
                instances.Add(new ScalingInstance($"{function.Name}-{node.NodeId}", function.Name, node.NodeId, gpu, random.Next(4) == 0, random.Next(3)));
            }
        }

        var queues = functions.Where(_ => random.Next(5) > 0).ToDictionary(f => f.Name, _ => random.Next(0, 30), StringComparer.Ordinal);
        var previous = functions.Where(_ => random.Next(2) == 0)
            .ToDictionary(f => f.Name, _ => new ScalingPrevious(TimeSpan.FromSeconds(random.Next(0, 5))), StringComparer.Ordinal);
        return new ScalingSnapshot(functions, nodes, instances, queues, previous, TimeSpan.FromSeconds(1));
    }

    private static string Describe(ScalingResult result)
        => string.Join("\n", result.Decisions.Select(d =>
            $"{d.Function} {d.Desired} {d.Current} +[{string.Join(",", d.Starts)}] -[{string.Join(",", d.Stops)}] short {d.Shortfall} cand [{string.Join(",", d.Candidates)}] {d.BelowFor} {d.Reason}"));
}
