namespace Drover.Aggregator.State;

/// <summary>
/// The instance assignments, kept in the store so that a restarted aggregator carries on from them
/// (<see cref="Fleet.InstanceTable"/>). Written synchronously, in a transaction made durable
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

    /// <summary>Forgets the instance's assignment (it was stopped for good). False when the store failed (logged).</summary>
    bool DeleteAssignment(string instanceId);
}
