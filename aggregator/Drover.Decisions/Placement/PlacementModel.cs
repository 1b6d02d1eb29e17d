namespace Drover.Decisions.Placement;

/// <summary>A node as placement sees it.</summary>
/// <param name="NodeId">The node's id.</param>
/// <param name="Cluster">Its cluster.</param>
/// <param name="ServerNumber">Its number in the cluster (a stable tie-breaker).</param>
/// <param name="Survives">Alive, heartbeat fresh, connected: may receive instances.</param>
/// <param name="Lost">Declared lost: its instances must resume elsewhere.</param>
public sealed record PlacementNode(string NodeId, string Cluster, int ServerNumber, bool Survives, bool Lost);

/// <summary>A workload placement keeps running: a function, or one set of a service.</summary>
/// <param name="Name">The workload's key (a function's name, or a service set's key).</param>
/// <param name="Instances">How many instances it wants, spread over the surviving nodes; null for one on every surviving node.</param>
public sealed record PlacementFunction(string Name, int? Instances = null);

/// <summary>Where an instance is assigned now.</summary>
public sealed record PlacementInstance(string InstanceId, string Function, string NodeId);

/// <summary>The snapshot placement decides on.</summary>
public sealed record PlacementSnapshot(
    IReadOnlyList<PlacementNode> Nodes,
    IReadOnlyList<PlacementFunction> Functions,
    IReadOnlyList<PlacementInstance> Instances);

/// <summary>What placement decided, and why.</summary>
public enum PlacementActionKind
{
    /// <summary>Start a new instance of the function on the node.</summary>
    Start,

    /// <summary>Resume an instance of a lost node on another node, from its last committed state.</summary>
    Move,

    /// <summary>An instance that cannot be placed: no surviving node.</summary>
    Shortfall,

    /// <summary>Stop an instance the workload no longer wants (its instance count went down).</summary>
    Remove,
}

/// <summary>One decision: the action, its inputs and its reason.</summary>
public sealed record PlacementAction(
    PlacementActionKind Kind,
    string Function,
    string? InstanceId,
    string? FromNodeId,
    string? ToNodeId,
    string Reason);
