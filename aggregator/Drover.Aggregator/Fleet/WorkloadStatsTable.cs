using Drover.Protocol.V1;

namespace Drover.Aggregator.Fleet;

/// <summary>
/// The latest shim counters of every node, per function and service: what the request queue length
/// (queued plus in flight, summed over the surviving nodes) is computed from.
/// </summary>
internal sealed class WorkloadStatsTable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Dictionary<(WorkloadKind Kind, string Name), WorkloadStats>> _byNode = new(StringComparer.Ordinal);

    /// <summary>Replaces a node's counters with its latest (validated) message.</summary>
    public void Record(string nodeId, ShimStats stats)
    {
        var latest = stats.Workloads.ToDictionary(w => (w.Kind, w.Name));
        lock (_gate)
        {
            _byNode[nodeId] = latest;
        }
    }

    /// <summary>A workload's queued and in-flight requests summed over <paramref name="nodes"/>' latest counters.</summary>
    public (long Queued, long InFlight) Totals(WorkloadKind kind, string name, IReadOnlySet<string> nodes)
        => Totals(For(kind, name).Where(s => nodes.Contains(s.Key)).Select(s => s.Value));

    /// <summary>Queued and in-flight requests summed over <paramref name="stats"/>.</summary>
    public static (long Queued, long InFlight) Totals(IEnumerable<WorkloadStats> stats)
    {
        long queued = 0;
        long inFlight = 0;
        foreach (var stat in stats)
        {
            queued += stat.Queued;
            inFlight += stat.InFlight;
        }

        return (queued, inFlight);
    }

    /// <summary>Every node's latest counters for one workload, by node id.</summary>
    public IReadOnlyDictionary<string, WorkloadStats> For(WorkloadKind kind, string name)
    {
        lock (_gate)
        {
            var result = new Dictionary<string, WorkloadStats>(StringComparer.Ordinal);
            foreach (var (nodeId, workloads) in _byNode)
            {
                if (workloads.TryGetValue((kind, name), out var stats))
                {
                    result[nodeId] = stats;
                }
            }

            return result;
        }
    }
}
