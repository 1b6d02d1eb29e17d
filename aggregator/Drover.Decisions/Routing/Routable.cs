namespace Drover.Decisions.Routing;

/// <summary>Which instances take requests: one rule for the gateway's table and the services' routing tables.</summary>
public static class Routable
{
    /// <summary>
    /// An instance takes requests when it reports ready, and from the node it is assigned to: a copy
    /// still reporting from a node it was moved away from (a stale copy) takes none.
    /// </summary>
    public static bool IsRoutable(bool ready, string? reportedNodeId, string assignedNodeId)
        => ready && string.Equals(reportedNodeId, assignedNodeId, StringComparison.Ordinal);
}
