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
    int GpuCount,
    string Address = "",
    int? Weight = null,
    int? Priority = null,
    bool AnswersProbes = false)
{
    // Weight and Priority: what the Hello named, null when the agent is older than the fields (the
    // defaults apply then). NodeView carries the effective values, overrides included. AnswersProbes:
    // whether the agent said it answers survival probes; an older one is not probed.

    /// <summary>Where the node's shim is reached: <c>Address:Port</c>, bracketing an IPv6 address.</summary>
    public string ShimEndpoint => $"{(Address.Contains(':', StringComparison.Ordinal) ? $"[{Address}]" : Address)}:{Port}";
}
