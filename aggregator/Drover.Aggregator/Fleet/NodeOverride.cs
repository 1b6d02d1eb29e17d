namespace Drover.Aggregator.Fleet;

/// <summary>
/// An operator's override of a node's weight and priority (<c>PUT /v1/nodes/{nodeId}</c>), kept in
/// <c>&lt;dataDirectory&gt;/nodes.json</c>. A null field leaves the agent's own value in force.
/// </summary>
internal sealed record NodeOverride(string NodeId, int? Weight = null, int? Priority = null)
{
    /// <summary>Nothing is overridden: the record can be forgotten.</summary>
    public bool IsEmpty => Weight is null && Priority is null;
}
