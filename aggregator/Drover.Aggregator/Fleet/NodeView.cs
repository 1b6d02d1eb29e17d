using Drover.Aggregator.Configuration;
using Drover.Decisions.Liveness;

namespace Drover.Aggregator.Fleet;

/// <summary>An immutable copy of one node's row in the node table, with its heartbeat age at the moment of the snapshot.</summary>
/// <param name="Identity">Who the node said it is in its Hello.</param>
/// <param name="Survival">Its survival state: what it reported, or lost.</param>
/// <param name="Connected">Whether it has an open stream to this aggregator.</param>
/// <param name="LastHeartbeatTimestamp">When its last heartbeat arrived (the table's clock).</param>
/// <param name="LastSequence">The sequence of its last heartbeat.</param>
/// <param name="SinceLastHeartbeat">How long ago its last heartbeat arrived.</param>
/// <param name="Gpus">Its latest GPU report.</param>
/// <param name="SinceTelemetry">How long ago that report arrived; null before any.</param>
/// <param name="ProbeRoundTrip">The round trip of the last answered survival probe; null before any.</param>
/// <param name="OldestUnansweredProbeAge">The age of the oldest probe sent on the current stream without a reply yet; null when none is outstanding.</param>
/// <param name="Weight">The effective weight: the override, else the Hello's, else the default (100).</param>
/// <param name="WeightSource">Whether <paramref name="Weight"/> is the agent's or an override.</param>
/// <param name="Priority">The effective priority (lower preferred): the override, else the Hello's, else the default (0).</param>
/// <param name="PrioritySource">Whether <paramref name="Priority"/> is the agent's or an override.</param>
internal sealed record NodeView(
    NodeIdentity Identity,
    NodeSurvival Survival,
    bool Connected,
    long LastHeartbeatTimestamp,
    ulong LastSequence,
    TimeSpan SinceLastHeartbeat,
    GpuReport Gpus,
    TimeSpan? SinceTelemetry,
    TimeSpan? ProbeRoundTrip,
    TimeSpan? OldestUnansweredProbeAge,
    int Weight,
    NodeSettingSource WeightSource,
    int Priority,
    NodeSettingSource PrioritySource)
{
    /// <summary>Whether the node survives at the moment of the snapshot (<see cref="NodeLiveness.Survives"/> with the aggregator's settings).</summary>
    public bool Survives(AggregatorOptions options) => NodeLiveness.Survives(
        Survival == NodeSurvival.Alive,
        Connected,
        SinceLastHeartbeat,
        options.HeartbeatInterval,
        options.MissedHeartbeats,
        OldestUnansweredProbeAge,
        options.ProbeTimeout);

    public string NodeId => Identity.NodeId;

    /// <summary>The node's GPU telemetry state: from its latest telemetry, or from its Hello before any.</summary>
    public GpuTelemetryState GpuTelemetry => SinceTelemetry is null ? Identity.GpuTelemetry : Gpus.Status;

    /// <summary>How many GPUs the node has: from its latest telemetry, or from its Hello before any.</summary>
    public int GpuCount => SinceTelemetry is null ? Identity.GpuCount : Gpus.Gpus.Count(g => g.Mig is null);
}
