namespace Drover.Aggregator.State;

/// <summary>
/// The instance assignments and pending stops, kept in the store so that a restarted aggregator
/// carries on from them (<see cref="Fleet.InstanceTable"/>). Written synchronously, in a transaction made durable
/// (fsync) before the call returns, because a StartInstance carrying an epoch must never reach an
/// agent before that epoch is durable: a restarted aggregator would otherwise hand the same epoch
/// out twice.
/// </summary>
internal interface IAssignmentStore
{
    /// <summary>Every kept assignment, ordered by instance id.</summary>
    IReadOnlyList<StoredAssignment> LoadAssignments();

    /// <summary>
    /// Keeps the assignment, replacing the instance's earlier one unless that one has a newer epoch
    /// (epochs never go back). False when the store failed (logged); the assignment then lives in
    /// memory only.
    /// </summary>
    bool SaveAssignment(StoredAssignment assignment);

    /// <summary>Every pending stop, ordered by instance id.</summary>
    IReadOnlyList<StoredStop> LoadStops();

    /// <summary>
    /// Keeps a pending stop and forgets the instance's assignment, in one transaction: the instance is
    /// stopped for good, and a restarted aggregator sends the stop again until the node acknowledges
    /// it. Replaces an earlier pending stop of the instance. False when the store failed (logged).
    /// </summary>
    bool SaveStop(StoredStop stop);

    /// <summary>Forgets a pending stop (acknowledged, or its node forgotten). False when the store failed (logged).</summary>
    bool DeleteStop(string instanceId);
}
