namespace Drover.Aggregator.Fleet;

/// <summary>An immutable copy of one node's row in the node table, with its heartbeat age at the moment of the snapshot.</summary>
internal sealed record NodeView(
    NodeIdentity Identity,
    NodeSurvival Survival,
    bool Connected,
    long LastHeartbeatTimestamp,
    ulong LastSequence,
    TimeSpan SinceLastHeartbeat,
    GpuReport Gpus,
    TimeSpan? SinceTelemetry)
{
    public string NodeId => Identity.NodeId;

    /// <summary>The node's GPU telemetry state: from its latest telemetry, or from its Hello before any.</summary>
    public GpuTelemetryState GpuTelemetry => SinceTelemetry is null ? Identity.GpuTelemetry : Gpus.Status;

    /// <summary>How many GPUs the node has: from its latest telemetry, or from its Hello before any.</summary>
    public int GpuCount => SinceTelemetry is null ? Identity.GpuCount : Gpus.Gpus.Count;
}
