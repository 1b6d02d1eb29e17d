using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;

namespace Drover.Aggregator.Api;

/// <summary>One node as <c>GET /v1/nodes</c> shows it (camelCase JSON).</summary>
internal sealed record NodeResponse(
    string NodeId,
    int ServerNumber,
    int Port,
    string Cluster,
    string Survival,
    long LastHeartbeatAgeMs,
    bool Connected,
    ulong LastSequence,
    IReadOnlyDictionary<string, string> Labels,
    string AgentVersion,
    string Hostname,
    int GpuCount,
    string GpuTelemetry,
    string Address,
    int Weight,
    string WeightSource,
    int Priority,
    string PrioritySource,
    double? ProbeRoundTripMs,
    bool Survives)
{
    public static NodeResponse From(NodeView view, AggregatorOptions options) => new(
        view.NodeId,
        view.Identity.ServerNumber,
        view.Identity.Port,
        view.Identity.Cluster,
        SurvivalName(view.Survival),
        (long)view.SinceLastHeartbeat.TotalMilliseconds,
        view.Connected,
        view.LastSequence,
        view.Identity.Labels,
        view.Identity.AgentVersion,
        view.Identity.Hostname,
        view.GpuCount,
        view.GpuTelemetry.Display,
        view.Identity.ShimEndpoint,
        view.Weight,
        SourceName(view.WeightSource),
        view.Priority,
        SourceName(view.PrioritySource),
        view.ProbeRoundTrip?.TotalMilliseconds,
        view.Survives(options));

    public static string SourceName(NodeSettingSource source) => source == NodeSettingSource.Override ? "override" : "agent";

    public static string SurvivalName(NodeSurvival survival) => survival switch
    {
        NodeSurvival.Alive => "alive",
        NodeSurvival.Draining => "draining",
        NodeSurvival.Stopping => "stopping",
        _ => "lost",
    };
}
