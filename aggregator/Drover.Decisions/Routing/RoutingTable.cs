using System.Runtime.CompilerServices;

namespace Drover.Decisions.Routing;

/// <summary>A node requests may be sent to.</summary>
/// <param name="NodeId">The node's id.</param>
/// <param name="Cluster">Its cluster.</param>
/// <param name="ServerNumber">Its number in the cluster (a stable tie-breaker).</param>
/// <param name="Weight">0-1000: its share of the cluster's traffic.</param>
/// <param name="Priority">Lower is preferred: only the best priority among usable nodes is used.</param>
/// <param name="Endpoint">Where its shim is reached (<c>host:port</c>).</param>
public sealed record RouteNode(string NodeId, string Cluster, int ServerNumber, int Weight, int Priority, string Endpoint);

/// <summary>A cluster requests may go to, with its share of all traffic and its surviving nodes.</summary>
public sealed record RouteCluster(string Cluster, double Share, IReadOnlyList<RouteNode> Nodes);

/// <summary>
/// The gateway's routing table: built from one health decision and the instance table, replaced
/// whole on every change. <see cref="Hosts"/> names, per workload (a function's name, or
/// <c>service/&lt;name&gt;</c>), the nodes with a ready instance of it.
/// </summary>
/// <param name="Version">Grows with every table built.</param>
/// <param name="Clusters">The clusters with a share, and their surviving nodes.</param>
/// <param name="Hosts">Per workload, the node ids with a ready instance.</param>
/// <param name="Degraded">No cluster is healthy: serving from the best unhealthy one.</param>
/// <param name="Reason">Why, in one line (for refusals and logs).</param>
public sealed record RoutingTable(
    long Version,
    IReadOnlyList<RouteCluster> Clusters,
    IReadOnlyDictionary<string, IReadOnlySet<string>> Hosts,
    bool Degraded,
    string Reason)
{
    /// <summary>
    /// Per workload whose load-balancing table is coordinated (issue 18), the weight of each node hosting it, in
    /// place of the node's own weight for that workload alone: the sum of the table's <c>ready</c> entries on
    /// the node (1-256 each). A hosting node the map leaves out weighs 1, as an entry new to the table does; a
    /// node weighing 0 (its entries drained, in maintenance or at weight 0) takes none of that workload's requests.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> Weights { get; init; } = NoWeights;

    /// <summary>No workload with weights of its own.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> NoWeights { get; } =
        new Dictionary<string, IReadOnlyDictionary<string, int>>(StringComparer.Ordinal);

    /// <summary>Nothing can serve yet: no cluster, no node.</summary>
    public static RoutingTable Empty { get; } = new(0, [], new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal), false, "no health evaluation has run yet");

    /// <summary>
    /// The tables' indexes, by table identity: kept outside the record so its equality and <c>with</c>
    /// copies stay those of its positional values (a copy builds its own index).
    /// </summary>
    private static readonly ConditionalWeakTable<RoutingTable, RoutingIndex> Indexes = new();

    /// <summary>The table arranged for <see cref="RouteChoice.Pick"/>, built on first use.</summary>
    internal RoutingIndex Index => Indexes.TryGetValue(this, out var index) ? index : Indexes.GetValue(this, RoutingIndex.Of);
}

/// <summary>Where one request goes; <see cref="Node"/> null when nothing can serve it, with the reason.</summary>
public sealed record RouteChoiceResult(RouteNode? Node, bool Degraded, string Reason);
