namespace Drover.Aggregator.State;

/// <summary>
/// A stop the aggregator decided (the instance is gone for good) and its node has not acknowledged:
/// what a restarted aggregator must remember so that it sends the stop again rather than adopt the
/// instance when its node reports it.
/// </summary>
/// <param name="InstanceId">The instance.</param>
/// <param name="Function">Its function, or its service set's key.</param>
/// <param name="NodeId">The node the stop goes to: where the instance was assigned, or last reported running since.</param>
/// <param name="DeleteState">Whether the stop deletes the instance's state directory on the node.</param>
/// <param name="DecidedAt">When the stop was decided (UTC).</param>
internal sealed record StoredStop(string InstanceId, string Function, string NodeId, bool DeleteState, DateTimeOffset DecidedAt);
