using Drover.Aggregator.Clusters;
using Drover.Aggregator.State;
using Drover.Decisions.Health;
using Drover.Decisions.Scaling;

namespace Drover.Aggregator.Tests.State;

/// <summary>
/// An <see cref="IDecisionMemoryStore"/> in memory that records every save, to count writes, or fails
/// every save (<see cref="Fail"/>) as a store with a full disk does. The SQLite store's own tests read back
/// what it wrote; these look at when the components write.
/// </summary>
internal class RecordingMemoryStore : IDecisionMemoryStore
{
    /// <summary>When set, every save returns false and keeps nothing, as a failed write does.</summary>
    public bool Fail { get; set; }

    public List<IReadOnlyDictionary<string, DateTimeOffset>> PenaltySaves { get; } = [];

    public List<IReadOnlyDictionary<string, ScalingPrevious>> WindowSaves { get; } = [];

    public List<IReadOnlyDictionary<string, PreviousClusterHealth>> HealthSaves { get; } = [];

    public List<(string Cluster, ClusterHistoryEntry Entry)> History { get; } = [];

    public List<(string Channel, ulong Through)> Reservations { get; } = [];

    public List<StoredLoadBalancing> BalancingSaves { get; } = [];

    public IReadOnlyDictionary<string, DateTimeOffset> LoadNodePenalties() => PenaltySaves.LastOrDefault() ?? new Dictionary<string, DateTimeOffset>();

    public bool SaveNodePenalties(IReadOnlyDictionary<string, DateTimeOffset> endsAt) => Save(PenaltySaves, endsAt);

    public IReadOnlyDictionary<string, ScalingPrevious> LoadScalingWindows() => WindowSaves.LastOrDefault() ?? new Dictionary<string, ScalingPrevious>();

    public bool SaveScalingWindows(IReadOnlyDictionary<string, ScalingPrevious> windows) => Save(WindowSaves, windows);

    public IReadOnlyDictionary<string, PreviousClusterHealth> LoadClusterHealth() => HealthSaves.LastOrDefault() ?? new Dictionary<string, PreviousClusterHealth>();

    public bool SaveClusterHealth(IReadOnlyDictionary<string, PreviousClusterHealth> previous) => Save(HealthSaves, previous);

    public IReadOnlyDictionary<string, IReadOnlyList<ClusterHistoryEntry>> LoadClusterHistory(int keepPerCluster)
        => History.GroupBy(h => h.Cluster).ToDictionary(g => g.Key, g => (IReadOnlyList<ClusterHistoryEntry>)g.Select(h => h.Entry).TakeLast(keepPerCluster).ToList());

    public bool AppendClusterHistory(IReadOnlyList<(string Cluster, ClusterHistoryEntry Entry)> entries, int keepPerCluster)
    {
        if (!Fail)
        {
            History.AddRange(entries);
        }

        return !Fail;
    }

    public IReadOnlyDictionary<string, ulong> LoadEventSequences()
        => Reservations.GroupBy(r => r.Channel).ToDictionary(g => g.Key, g => g.Max(r => r.Through));

    public virtual bool ReserveEventSequences(string channel, ulong through)
    {
        if (!Fail)
        {
            Reservations.Add((channel, through));
        }

        return !Fail;
    }

    public StoredLoadBalancing LoadLoadBalancing() => BalancingSaves.LastOrDefault() ?? StoredLoadBalancing.Empty;

    public bool SaveLoadBalancing(StoredLoadBalancing value) => Save(BalancingSaves, value);

    private bool Save<T>(List<T> saves, T value)
    {
        if (!Fail)
        {
            saves.Add(value);
        }

        return !Fail;
    }
}
