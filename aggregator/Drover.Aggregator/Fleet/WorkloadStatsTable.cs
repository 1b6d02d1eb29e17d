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
