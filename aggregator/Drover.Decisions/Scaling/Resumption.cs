namespace Drover.Decisions.Scaling;

/// <summary>An autoscaled instance that counts for nothing where it is (its node is lost, or its start there failed) and waits to resume.</summary>
/// <param name="InstanceId">The instance.</param>
/// <param name="Function">Its function.</param>
/// <param name="NodeId">The node it is assigned to now.</param>
/// <param name="AssignedOrder">When it was assigned (any clock, smaller is older): the oldest resumes first.</param>
public sealed record StrandedInstance(string InstanceId, string Function, string NodeId, long AssignedOrder);

/// <summary>One start of a scaling decision, and the stranded instance it resumes (null: a new instance).</summary>
public sealed record ResumedStart(string Function, ScalingStart Start, StrandedInstance? Resumes);

/// <summary>The starts to make, and the stranded instances let go.</summary>
public sealed record ResumptionPlan(IReadOnlyList<ResumedStart> Starts, IReadOnlyList<StrandedInstance> LetGo);

/// <summary>
/// Which stranded instance each autoscaler start resumes: a start of a function with stranded
/// instances resumes the oldest assignment of them (from its last committed state) rather than start
/// an empty one. Stranded instances no start took are let go when their function has what it wants
/// without them; where it falls short they wait for a node that can take them.
/// </summary>
public static class Resumption
{
    public static ResumptionPlan Plan(IEnumerable<StrandedInstance> stranded, IEnumerable<ScalingDecision> decisions)
    {
        ArgumentNullException.ThrowIfNull(stranded);
        ArgumentNullException.ThrowIfNull(decisions);
        var waiting = stranded
            .OrderBy(s => s.AssignedOrder)
            .ThenBy(s => s.InstanceId, StringComparer.Ordinal)
            .GroupBy(s => s.Function, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => new Queue<StrandedInstance>(g), StringComparer.Ordinal);
        var starts = new List<ResumedStart>();
        var fallShort = new HashSet<string>(StringComparer.Ordinal);
        foreach (var decision in decisions)
        {
            if (decision.Shortfall > 0)
            {
                fallShort.Add(decision.Function);
            }

            foreach (var start in decision.Starts)
            {
                var resumes = waiting.TryGetValue(decision.Function, out var queue) && queue.TryDequeue(out var oldest) ? oldest : null;
                starts.Add(new ResumedStart(decision.Function, start, resumes));
            }
        }

        var letGo = waiting
            .Where(w => !fallShort.Contains(w.Key))
            .OrderBy(w => w.Key, StringComparer.Ordinal)
            .SelectMany(w => w.Value)
            .ToArray();
        return new ResumptionPlan(starts, letGo);
    }
}
