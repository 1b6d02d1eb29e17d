namespace Drover.Aggregator.Fleet;

/// <summary>An immutable copy of one node's row in the node table, with its heartbeat age at the moment of the snapshot.</summary>
internal sealed record NodeView(
    NodeIdentity Identity,
    NodeSurvival Survival,
    bool Connected,
    long LastHeartbeatTimestamp,
    ulong LastSequence,
    TimeSpan SinceLastHeartbeat)
{
    public string NodeId => Identity.NodeId;
}
