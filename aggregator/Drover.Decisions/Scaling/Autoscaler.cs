namespace Drover.Decisions.Scaling;

/// <summary>
/// How many instances each function runs, and on which GPUs. Desired = <c>ceil(queue / SLO) + margin</c>
/// within <c>[min, max]</c>; instances that are starting count. Up at once; down only after the desired
/// count stayed below the current one for the whole scale-down window. New instances go to the
/// eligible nodes without one of the function, on a healthy GPU with the memory that fits the function's
/// <see cref="ScalingFunction.Gpu"/> request (a whole GPU, a MIG instance, a MIG profile), best first: shortest
/// command queue, then lowest utilization, most free memory, lowest node priority, highest weight, node
/// id. Removals take the worst-ranked first (an instance on an unknown or lost GPU, then on a node no
/// longer eligible, then the busiest GPU), and among equals the one with the fewest requests in flight.
/// Pure: a function of the snapshot.
/// </summary>
/// <remarks>
/// One pass is built for 10 000 nodes, 80 000 GPUs and 1 000 functions: the GPUs are ranked once per
/// pass and only as far as the starts read (<see cref="GpuRanking"/>); instances are counted in one sweep;
/// steady functions cost a dictionary look-up and get no record.
/// </remarks>
public static class Autoscaler
{
    /// <summary>The scale-down window of a function that sets none.</summary>
    public static readonly TimeSpan DefaultScaleDownWindow = TimeSpan.FromSeconds(60);

    /// <summary>How many ranked candidates a decision reports at least (it always reports the chosen ones).</summary>
    public const int CandidatesReported = 5;

    /// <summary>How many of the best GPUs a pass sorts at least before it reads further (see <see cref="GpuRanking"/>).</summary>
    internal const int SelectedGpus = 512;

    /// <summary><c>ceil(queue / SLO) + margin</c>; a negative queue counts as empty.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="slo"/> is below 1.</exception>
    public static int Formula(int queueLength, int slo, int margin)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slo, 1);
        var queue = (long)Math.Max(0, queueLength);
        return (int)Math.Clamp(((queue + slo - 1) / slo) + margin, int.MinValue, int.MaxValue);
    }

    /// <summary>The formula's result within the function's bounds (the maximum wins should they cross).</summary>
    public static int Desired(ScalingFunction function, int queueLength)
    {
        ArgumentNullException.ThrowIfNull(function);
        return Bound(Formula(queueLength, function.Slo, function.Margin), function);
    }

    /// <summary>One scaling and placement pass over the snapshot.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A function's SLO is below 1.</exception>
    public static ScalingResult Decide(ScalingSnapshot snapshot) => Decide(snapshot, selectedGpus: null);

    /// <summary>
    /// The pass, with the first selection of GPUs sized by the caller: a seam for tests, which make it
    /// small so that their small fleets read past it. Null sizes it as <see cref="Decide(ScalingSnapshot)"/> does.
    /// </summary>
    internal static ScalingResult Decide(ScalingSnapshot snapshot, int? selectedGpus)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var functions = Lists.Span(snapshot.Functions);
        var byName = new Dictionary<string, int>(functions.Length, StringComparer.Ordinal);
        for (var f = 0; f < functions.Length; f++)
        {
            var function = functions[f];
            if (function.Slo < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(snapshot), function.Slo,
                    $"Function '{function.Name}' has SLO {function.Slo}; an SLO is at least 1 request per instance.");
            }

            byName.TryAdd(function.Name, f);
        }

        // One sweep over the instances: counts per function, and each instance's function for later.
        var instances = Lists.Span(snapshot.Instances);
        var current = new int[functions.Length];
        var starting = new int[functions.Length];
        var functionOf = new int[instances.Length];
        for (var i = 0; i < instances.Length; i++)
        {
            var instance = instances[i];
            if (byName.TryGetValue(instance.Function, out var f))
            {
                current[f]++;
                starting[f] += instance.Starting ? 1 : 0;
                functionOf[i] = f;
            }
            else
            {
                // Not a defined function's: follow-up stops it; it is no capacity here.
                functionOf[i] = -1;
            }
        }

        var plans = new List<Plan>();
        for (var f = 0; f < functions.Length; f++)
        {
            if (PlanFor(functions[f], f, current[f], starting[f], snapshot) is { } plan)
            {
                plans.Add(plan);
            }
        }

        if (plans.Count == 0)
        {
            return new ScalingResult([], new Dictionary<string, ScalingPrevious>(StringComparer.Ordinal));
        }

        plans.Sort((a, b) => string.CompareOrdinal(a.Function.Name, b.Function.Name));

        // The instances of the functions that change, and only those.
        var planOf = new int[functions.Length];
        Array.Fill(planOf, -1);
        for (var p = 0; p < plans.Count; p++)
        {
            planOf[plans[p].Index] = p;
        }

        for (var i = 0; i < instances.Length; i++)
        {
            if (functionOf[i] >= 0 && planOf[functionOf[i]] is var p and >= 0)
            {
                plans[p].Instances.Add(instances[i]);
            }
        }

        var decisions = new List<ScalingDecision>(plans.Count);
        var previous = new Dictionary<string, ScalingPrevious>(StringComparer.Ordinal);

        // Enough of the best GPUs that no function reads past them: a function reads its candidates and
        // the other GPUs of their nodes (8 on the largest hosts), skips the GPUs earlier starts took, and
        // more when its nodes, memory or GPU request (whole, MIG, a profile) rule GPUs out. Reading past is
        // correct, only slower.
        int startsWanted = 0, mostWanted = 0;
        foreach (var plan in plans)
        {
            startsWanted += Math.Max(0, plan.Desired - plan.Current);
            mostWanted = Math.Max(mostWanted, plan.Desired - plan.Current);
        }

        var keep = selectedGpus ?? Math.Max(SelectedGpus, (2 * startsWanted) + (8 * (mostWanted + CandidatesReported)));

        GpuRanking? ranking = null;
        Dictionary<string, ScalingNode>? nodes = null;
        try
        {
            foreach (var plan in plans)
            {
                if (plan.Desired > plan.Current)
                {
                    ranking ??= GpuRanking.Of(snapshot.Nodes, keep);
                    decisions.Add(ScaleUp(plan, ranking));
                    continue;
                }

                if (plan.BelowFor is { } belowFor)
                {
                    previous[plan.Function.Name] = new ScalingPrevious(belowFor);
                    decisions.Add(Hold(plan, belowFor));
                    continue;
                }

                nodes ??= NodesOf(plans, snapshot.Nodes);
                decisions.Add(ScaleDown(plan, nodes));
            }
        }
        finally
        {
            ranking?.Dispose();
        }

        return new ScalingResult(decisions, previous);
    }

    private static int Bound(int formula, ScalingFunction function)
        => Math.Min(Math.Max(formula, function.MinInstances), function.MaxInstances);

    /// <summary>
    /// What a function needs this pass, or null when it is at its desired count. A function below goes
    /// on with its window (BelowFor set) or, once the window is over, scales down (BelowFor null).
    /// </summary>
    private static Plan? PlanFor(ScalingFunction function, int index, int current, int starting, ScalingSnapshot snapshot)
    {
        var queue = snapshot.QueueLengths.TryGetValue(function.Name, out var q) ? q : 0;
        var formula = Formula(queue, function.Slo, function.Margin);
        var desired = Bound(formula, function);
        if (desired == current)
        {
            return null;
        }

        var plan = new Plan(function, index, queue, formula, desired, current, starting);
        if (desired < current)
        {
            var window = function.ScaleDownWindow ?? DefaultScaleDownWindow;
            var belowFor = snapshot.Previous.TryGetValue(function.Name, out var before) && before.BelowFor is { } so
                ? so + snapshot.Elapsed
                : TimeSpan.Zero;
            plan.Window = window;
            plan.WindowRan = belowFor;
            plan.BelowFor = belowFor >= window ? null : belowFor;
        }

        return plan;
    }

    private static ScalingDecision ScaleUp(Plan plan, GpuRanking ranking)
    {
        var function = plan.Function;
        var wanted = plan.Desired - plan.Current;
        var need = Math.Max(0, function.GpuMemoryBytes);
        var request = function.Gpu;
        var any = request.Kind == GpuRequestKind.Any;
        var hosts = new HashSet<string>(plan.Instances.Count + wanted, StringComparer.Ordinal);
        foreach (var instance in plan.Instances)
        {
            hosts.Add(instance.NodeId);
        }

        // A node's first GPU in the order with the memory, of the kind asked for, is its best; the node is then
        // taken. The GPUs of another kind are read past: one ranking serves the pass, so memory a start takes
        // is seen by every later function, whatever it asks for.
        var reported = Math.Max(wanted, CandidatesReported);
        var found = new List<(int Place, GpuRank Rank)>(reported);
        if (need <= ranking.MaxMemoryFreeBytes)
        {
            var cursor = default(GpuCursor);
            while (found.Count < reported && ranking.Next(ref cursor, out var rank, out var place))
            {
                if (rank.MemoryFreeBytes >= need && (any || request.Fits(ranking.Gpu(rank))) && hosts.Add(ranking.Node(rank).NodeId))
                {
                    found.Add((place, rank));
                }
            }
        }

        var candidates = new ScalingCandidate[found.Count];
        for (var c = 0; c < found.Count; c++)
        {
            var rank = found[c].Rank;
            var node = ranking.Node(rank);
            var gpu = ranking.Gpu(rank);
            candidates[c] = new ScalingCandidate(node.NodeId, gpu.Uuid, gpu.CommandQueueLength, gpu.UtilizationPercent,
                rank.MemoryFreeBytes, node.Priority, node.Weight, c + 1, gpu.QueueSource);
        }

        var placed = Math.Min(wanted, found.Count);
        var starts = new ScalingStart[placed];
        for (var c = 0; c < placed; c++)
        {
            starts[c] = new ScalingStart(candidates[c].NodeId, candidates[c].GpuUuid, c + 1);
            ranking.Consume(found[c].Rank, found[c].Place, need);
        }

        var shortfall = wanted - placed;
        var outcome = shortfall == 0
            ? $"{placed} start on the best-ranked GPUs (shortest command queue first)"
            : $"{placed} start and {shortfall} cannot: {(placed == 0 ? "no" : "no other")} eligible node without an instance has a healthy GPU {(any ? "" : $"that fits '{request}' ")}with {need} bytes free";
        return Decision(plan, starts, [], shortfall, candidates, null, $"{Need(plan)}; {outcome}");
    }

    private static ScalingDecision Hold(Plan plan, TimeSpan belowFor)
        => Decision(plan, [], [], 0, [], belowFor,
            $"{Need(plan)}; below for {belowFor.TotalSeconds:0.#} s of the {plan.Window.TotalSeconds:0.#} s scale-down window: nothing stops yet");

    private static ScalingDecision ScaleDown(Plan plan, Dictionary<string, ScalingNode> nodes)
    {
        var ranked = new List<(StopRank Rank, ScalingInstance Instance)>(plan.Instances.Count);
        foreach (var instance in plan.Instances)
        {
            if (!instance.Awaited)
            {
                ranked.Add((StopRank.Of(instance, nodes), instance));
            }
        }

        ranked.Sort((a, b) => StopRank.Compare(a.Rank, b.Rank));
        var count = Math.Min(plan.Current - plan.Desired, ranked.Count);
        var stops = new ScalingStop[count];
        for (var s = 0; s < count; s++)
        {
            var instance = ranked[s].Instance;
            stops[s] = new ScalingStop(instance.InstanceId, instance.NodeId, instance.GpuUuid, instance.InFlight);
        }

        return Decision(plan, [], stops, 0, [], null,
            $"{Need(plan)}; below for {plan.WindowRan.TotalSeconds:0.#} s, the whole {plan.Window.TotalSeconds:0.#} s scale-down window: {count} stop from the busiest GPUs, draining their requests first");
    }

    private static ScalingDecision Decision(Plan plan, ScalingStart[] starts, ScalingStop[] stops, int shortfall, ScalingCandidate[] candidates, TimeSpan? belowFor, string reason)
    {
        var function = plan.Function;
        return new ScalingDecision(function.Name, plan.Queue, function.Slo, function.Margin, function.MinInstances, function.MaxInstances,
            plan.Formula, plan.Desired, plan.Current, plan.Starting, starts, stops, shortfall, candidates, belowFor,
            Changed: starts.Length > 0 || stops.Length > 0, reason);
    }

    /// <summary>The formula with its numbers, the bound that applied, and what runs now.</summary>
    private static string Need(Plan plan)
    {
        var function = plan.Function;
        var bound = plan.Desired == plan.Formula ? ""
            : plan.Desired == function.MaxInstances ? $", capped at the maximum {function.MaxInstances}"
            : $", raised to the minimum {function.MinInstances}";
        return $"queue {plan.Queue} at SLO {function.Slo}: ceil({plan.Queue} / {function.Slo}) + {function.Margin} = {plan.Formula}{bound}; "
            + $"{plan.Desired} wanted, {plan.Current} serve or start ({plan.Starting} starting)";
    }

    /// <summary>
    /// The nodes of the instances of the functions that scale down: a sweep over the nodes against a
    /// small set, cheaper than a dictionary of all 10 000.
    /// </summary>
    private static Dictionary<string, ScalingNode> NodesOf(List<Plan> plans, IReadOnlyList<ScalingNode> nodes)
    {
        var byId = new Dictionary<string, ScalingNode>(StringComparer.Ordinal);
        foreach (var plan in plans)
        {
            if (plan.Desired < plan.Current && plan.BelowFor is null)
            {
                foreach (var instance in plan.Instances)
                {
                    byId.TryAdd(instance.NodeId, null!);
                }
            }
        }

        foreach (var node in Lists.Span(nodes))
        {
            if (byId.TryGetValue(node.NodeId, out var known) && known is null)
            {
                byId[node.NodeId] = node;
            }
        }

        // Nodes not in the snapshot: their instances' GPUs are unknown.
        foreach (var missing in byId.Where(p => p.Value is null).Select(p => p.Key).ToList())
        {
            byId.Remove(missing);
        }

        return byId;
    }
}
