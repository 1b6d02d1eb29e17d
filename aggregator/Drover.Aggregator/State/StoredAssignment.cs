namespace Drover.Aggregator.State;

/// <summary>
/// Which node an instance is assigned to, under which fencing epoch: what a restarted aggregator
/// must remember so that a stale copy of the instance cannot win it back by reporting first.
/// </summary>
/// <param name="InstanceId">The instance.</param>
/// <param name="Function">Its function, or its service set's key.</param>
/// <param name="NodeId">The node it is assigned to.</param>
/// <param name="Epoch">Grows with every assignment of the instance (first placement, move, failback); 1 or more.</param>
/// <param name="HomeCluster">The cluster it was first placed in; null when unknown (learnt from a report).</param>
internal sealed record StoredAssignment(string InstanceId, string Function, string NodeId, long Epoch, string? HomeCluster);
