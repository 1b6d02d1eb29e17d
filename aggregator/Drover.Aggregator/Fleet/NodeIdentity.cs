namespace Drover.Aggregator.Fleet;

/// <summary>Who a node says it is, as accepted from its Hello.</summary>
internal sealed record NodeIdentity(
    string NodeId,
    int ServerNumber,
    int Port,
    string Cluster,
    IReadOnlyDictionary<string, string> Labels,
    string AgentVersion,
    string Hostname,
    GpuTelemetryState GpuTelemetry,
    int GpuCount);
