namespace Drover.Decisions.Routing;

/// <summary>
/// The per-request choice: a cluster by its share, then a node in it by priority, then weight, with
/// fewest outstanding requests breaking ties. Pure: randomness and the outstanding counts are inputs.
/// </summary>
public static class RouteChoice
{
    /// <summary>Builds the gateway's table from a health decision's shares, the nodes and the workloads' hosts.</summary>
    public static RoutingTable Build(
        long version,
        Health.HealthDecision decision,
        IReadOnlyList<Health.HealthNode> nodes,
        IReadOnlyDictionary<string, IReadOnlySet<string>> hosts)
    {
        ArgumentNullException.ThrowIfNull(decision);
        throw new NotImplementedException();
    }

    /// <summary>
    /// Picks the node for one request of <paramref name="workload"/>: <paramref name="clusterDraw"/> and
    /// <paramref name="nodeDraw"/> are uniform in [0, 1); <paramref name="outstanding"/> gives a node's
    /// requests in flight through the gateway; nodes in <paramref name="exclude"/> (a retry's failed node) are skipped.
    /// </summary>
    public static RouteChoiceResult Pick(
        RoutingTable table,
        string workload,
        double clusterDraw,
        double nodeDraw,
        Func<string, int> outstanding,
        IReadOnlySet<string>? exclude = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        throw new NotImplementedException();
    }
}
