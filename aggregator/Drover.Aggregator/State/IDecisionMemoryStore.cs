using Drover.Aggregator.Clusters;
using Drover.Decisions.Health;
using Drover.Decisions.Scaling;

namespace Drover.Aggregator.State;

/// <summary>
/// What the decision passes carry from one pass to the next, kept in the store so that a restarted
/// aggregator carries on from it instead of starting from zero (DESIGN, "How data flows"): the node
/// penalties, the autoscaler's scale-down windows, the health decision's previous states with each
/// cluster's history of transitions, and the numbers each event channel has reserved. Each memory is
/// loaded once at start and saved after the pass that changed it.
/// </summary>
/// <remarks>
/// Every save is its own transaction, made durable (fsync) before it returns, as
/// <see cref="IAssignmentStore"/>'s are. A save that fails is logged and returns false; the memory then
/// lives in this process only, and the pass goes on: losing it costs what a restart cost before it was
/// kept. A kept value that cannot be read back (a hand-edited row) is logged and left out of the load.
/// </remarks>
internal interface IDecisionMemoryStore
{
    /// <summary>The penalised nodes, each with the wall-clock time its penalty ends (some may have ended since).</summary>
    IReadOnlyDictionary<string, DateTimeOffset> LoadNodePenalties();

    /// <summary>Replaces the kept penalties. False when the store failed (logged).</summary>
    bool SaveNodePenalties(IReadOnlyDictionary<string, DateTimeOffset> endsAt);

    /// <summary>The functions in a scale-down window, with how long the window has run (<see cref="ScalingPrevious"/>).</summary>
    IReadOnlyDictionary<string, ScalingPrevious> LoadScalingWindows();

    /// <summary>Replaces the kept scale-down windows. False when the store failed (logged).</summary>
    bool SaveScalingWindows(IReadOnlyDictionary<string, ScalingPrevious> windows);

    /// <summary>The health decision's last state of each cluster (failback's hysteresis carries over).</summary>
    IReadOnlyDictionary<string, PreviousClusterHealth> LoadClusterHealth();

    /// <summary>Replaces the kept health states. False when the store failed (logged).</summary>
    bool SaveClusterHealth(IReadOnlyDictionary<string, PreviousClusterHealth> previous);

    /// <summary>Each cluster's newest <paramref name="keepPerCluster"/> transitions, oldest first.</summary>
    IReadOnlyDictionary<string, IReadOnlyList<ClusterHistoryEntry>> LoadClusterHistory(int keepPerCluster);

    /// <summary>
    /// Adds transitions, in order, to their clusters' histories, then drops all but the newest
    /// <paramref name="keepPerCluster"/> of each cluster they name. False when the store failed (logged).
    /// </summary>
    bool AppendClusterHistory(IReadOnlyList<(string Cluster, ClusterHistoryEntry Entry)> entries, int keepPerCluster);

    /// <summary>Each event channel with the highest sequence number it reserved: none above it was handed out.</summary>
    IReadOnlyDictionary<string, ulong> LoadEventSequences();

    /// <summary>
    /// Reserves the numbers of <paramref name="channel"/> up to <paramref name="through"/>; a mark lower
    /// than the kept one leaves the kept one (marks never go back). False when the store failed (logged).
    /// </summary>
    bool ReserveEventSequences(string channel, ulong through);

    /// <summary>The load-balancing tables and the coordination's memory per association; empty when none is kept.</summary>
    StoredLoadBalancing LoadLoadBalancing();

    /// <summary>Replaces the kept load-balancing tables and memory. False when the store failed (logged).</summary>
    bool SaveLoadBalancing(StoredLoadBalancing value);
}
