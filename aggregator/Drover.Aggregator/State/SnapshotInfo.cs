namespace Drover.Aggregator.State;

/// <summary>
/// What the persistent state storage knows of one committed snapshot of an instance's local state
/// directory (a tar archive).
/// </summary>
/// <param name="InstanceId">The instance whose state directory the archive holds.</param>
/// <param name="FunctionName">The function (or service) the instance belongs to.</param>
/// <param name="Version">Chosen by the agent; increases with every commit of the instance.</param>
/// <param name="SizeBytes">The archive's exact length.</param>
/// <param name="Sha256Hex">SHA-256 of the archive, 64 lowercase hex digits.</param>
/// <param name="SourceNodeId">The node whose agent took and uploaded the snapshot.</param>
/// <param name="TakenAt">When the agent took the snapshot, on the agent's clock.</param>
/// <param name="CommittedAt">When the aggregator received its last chunk, on the aggregator's clock.</param>
internal sealed record SnapshotInfo(
    string InstanceId,
    string FunctionName,
    long Version,
    long SizeBytes,
    string Sha256Hex,
    string SourceNodeId,
    DateTimeOffset TakenAt,
    DateTimeOffset CommittedAt);
