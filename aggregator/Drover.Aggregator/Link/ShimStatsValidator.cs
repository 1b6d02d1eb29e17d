using Drover.Protocol;

using Drover.Protocol.V1;

namespace Drover.Aggregator.Link;

/// <summary>
/// Checks a node's shim counters where they enter: every list and name a peer chooses is bounded, and
/// a message that breaks a rule is refused whole, with the field named.
/// </summary>
internal static class ShimStatsValidator
{
    public const int MaxWorkloads = 4096;
    public const int MaxBuckets = 64;

    /// <summary>Null when acceptable, else why not.</summary>
    public static string? Validate(ShimStats stats)
    {
        if (stats.Workloads.Count > MaxWorkloads)
        {
            return $"shimStats.workloads has {stats.Workloads.Count} entries; expected at most {MaxWorkloads}";
        }

        var seen = new HashSet<(WorkloadKind, string)>();
        foreach (var workload in stats.Workloads)
        {
            if (workload.Kind is not (WorkloadKind.Function or WorkloadKind.Service))
            {
                return $"shimStats.workloads.kind = '{workload.Kind}' for '{workload.Name}'; expected function or service";
            }

            if (!Names.IsName(workload.Name))
            {
                return $"shimStats.workloads.name = '{Truncate(workload.Name)}'; expected 1-63 characters of a-z 0-9 -";
            }

            if (!seen.Add((workload.Kind, workload.Name)))
            {
                return $"shimStats.workloads has '{workload.Name}' twice; expected one entry per function or service";
            }

            if (workload.Latency is { } latency && (latency.BoundsMs.Count > MaxBuckets || latency.Counts.Count != latency.BoundsMs.Count + 1 || !Ascending(latency.BoundsMs)))
            {
                return $"shimStats.workloads.latency of '{workload.Name}': expected at most {MaxBuckets} ascending bounds and one count more than bounds";
            }
        }

        return null;
    }

    private static bool Ascending(IReadOnlyList<double> bounds)
    {
        for (var i = 0; i < bounds.Count; i++)
        {
            if (!double.IsFinite(bounds[i]) || bounds[i] < 0 || (i > 0 && bounds[i] <= bounds[i - 1]))
            {
                return false;
            }
        }

        return true;
    }

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "...";
}
