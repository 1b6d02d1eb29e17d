namespace Drover.Protocol.Nodes;

/// <summary>
/// A node's weight and priority: the bounds and defaults the agent's configuration, the aggregator's
/// Hello validator and its <c>PUT /v1/nodes/{nodeId}</c> all accept, one set of numbers for both programs.
/// </summary>
public static class NodeLimits
{
    /// <summary>A node's share of its cluster's traffic relative to the others: 0 (none) to 1000.</summary>
    public const int MinWeight = 0;
    public const int MaxWeight = 1000;

    /// <summary>The weight of a node that names none (an agent older than the field).</summary>
    public const int DefaultWeight = 100;

    /// <summary>A node's priority: lower is preferred.</summary>
    public const int MinPriority = -1000;
    public const int MaxPriority = 1000;

    /// <summary>The priority of a node that names none.</summary>
    public const int DefaultPriority = 0;
}
