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
/// <param name="InstanceId">The instance.</param>
/// <param name="Function">Its workload's key.</param>
/// <param name="NodeId">The node it is assigned to.</param>
/// <param name="HomeCluster">The cluster it belongs to (where it was first placed); null: its node's cluster.</param>
public sealed record PlacementInstance(string InstanceId, string Function, string NodeId, string? HomeCluster = null);

/// <summary>The snapshot placement decides on.</summary>
/// <param name="Nodes">Every known node.</param>
/// <param name="Functions">The workloads to keep running.</param>
/// <param name="Instances">Where their instances are assigned.</param>
/// <param name="Backups">
/// From the health decision: for each cluster that cannot serve now (unhealthy, or recovering before
/// failback), the clusters taking over its traffic and tasks, best first. A cluster not listed serves
/// its own; null when health decisions are not in use.
/// </param>
public sealed record PlacementSnapshot(
    IReadOnlyList<PlacementNode> Nodes,
    IReadOnlyList<PlacementFunction> Functions,
    IReadOnlyList<PlacementInstance> Instances,
    IReadOnlyDictionary<string, IReadOnlyList<string>>? Backups = null);

/// <summary>What placement decided, and why.</summary>
public enum PlacementActionKind
{
    /// <summary>Start a new instance of the function on the node.</summary>
    Start,

    /// <summary>
    /// Resume an instance on another node from its last committed state: its node is lost, or its
    /// home cluster is healthy again and it goes back there (failback).
    /// </summary>
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
