using System.Collections.Concurrent;
using Drover.Agent.Instances;

namespace Drover.Agent.Shims;

/// <summary>
/// The functions and services this node's shim serves, kept in step with the instance manager: a
/// workload appears with its first instance and stays (with its counters) after its last is gone.
/// </summary>
internal sealed class ShimWorkloads
{
    private readonly InstanceManager _instances;
    private readonly ConcurrentDictionary<WorkloadKey, ShimWorkload> _workloads = new();
    private readonly Lock _refresh = new();

    public ShimWorkloads(InstanceManager instances)
    {
        _instances = instances;
        _instances.Changed += Refresh;
        Refresh();
    }

    public IEnumerable<ShimWorkload> All => _workloads.Values;

    /// <summary>The workload, or null when no instance of it ever ran here.</summary>
    public ShimWorkload? Find(WorkloadKey key) => _workloads.GetValueOrDefault(key);

    /// <summary>The workload, created (without instances) when new: for counters of requests that found none.</summary>
    public ShimWorkload GetOrAdd(WorkloadKey key) => _workloads.GetOrAdd(key, k => new ShimWorkload(k));

    /// <summary>Re-reads the instances from the instance manager.</summary>
    public void Refresh()
    {
        lock (_refresh)
        {
            var groups = _instances.All
                .GroupBy(s => WorkloadKey.Of(s.Spec))
                .ToDictionary(g => g.Key, g => (IReadOnlyList<InstanceSupervisor>)g.OrderBy(s => s.InstanceId, StringComparer.Ordinal).ToList());
            foreach (var (key, supervisors) in groups)
            {
                GetOrAdd(key).Update(supervisors);
            }

            foreach (var workload in _workloads.Values.Where(w => !groups.ContainsKey(w.Key)))
            {
                workload.Update([]);
            }
        }
    }
}
