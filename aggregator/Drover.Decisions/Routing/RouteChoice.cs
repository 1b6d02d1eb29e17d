using System.Collections.Frozen;
using static Drover.Decisions.Routing.RoutingIndex;

namespace Drover.Decisions.Routing;

/// <summary>
/// The per-request choice: a cluster by its share, then a node in it by priority, then weight, with
/// fewest outstanding requests breaking ties. Pure: randomness and the outstanding counts are inputs.
/// </summary>
public static class RouteChoice
{
    /// <summary>Nodes in one cluster the choice keeps on the stack; larger clusters take an array.</summary>
    private const int StackNodes = 128;

    /// <summary>
    /// Builds the gateway's table from a health decision's shares, the nodes and the workloads' hosts, with the
    /// node weights of the workloads whose load-balancing tables are coordinated (<see cref="RoutingTable.Weights"/>).
    /// </summary>
    public static RoutingTable Build(
        long version,
        Health.HealthDecision decision,
        IReadOnlyList<Health.HealthNode> nodes,
        IReadOnlyDictionary<string, IReadOnlySet<string>> hosts,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>>? weights = null)
    {
        ArgumentNullException.ThrowIfNull(decision);
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(hosts);

        var survivors = new Dictionary<string, List<RouteNode>>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            if (!node.Survives)
            {
                continue;
            }

            if (!survivors.TryGetValue(node.Cluster, out var list))
            {
                survivors[node.Cluster] = list = [];
            }

            list.Add(new RouteNode(node.NodeId, node.Cluster, node.ServerNumber, node.Weight, node.Priority, node.Endpoint));
        }

        var clusters = new List<RouteCluster>(decision.Shares.Count);
        foreach (var share in decision.Shares)
        {
            RouteNode[] members = survivors.TryGetValue(share.Cluster, out var list) ? [.. list] : [];
            Array.Sort(members, CompareNodes);
            clusters.Add(new RouteCluster(share.Cluster, share.Share, members));
        }

        // A copy: the caller's sets may change after the table is published; the table never does.
        var copied = new Dictionary<string, IReadOnlySet<string>>(hosts.Count, StringComparer.Ordinal);
        foreach (var (workload, ids) in hosts)
        {
            copied[workload] = ids.ToFrozenSet(StringComparer.Ordinal);
        }

        var table = new RoutingTable(version, clusters, copied.ToFrozenDictionary(StringComparer.Ordinal), decision.Degraded, decision.Reason);
        return weights is null or { Count: 0 } ? table : table with
        {
            Weights = weights.ToFrozenDictionary(w => w.Key, w => (IReadOnlyDictionary<string, int>)w.Value.ToFrozenDictionary(StringComparer.Ordinal), StringComparer.Ordinal),
        };
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
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(outstanding);

        var index = table.Index;
        if (!index.Workloads.TryGetValue(workload, out var routes))
        {
            return Refuse(table, workload, exclude);
        }

        if (exclude is { Count: 0 })
        {
            exclude = null;
        }

        // The clusters that can serve, renormalised: one whose nodes lack the workload (or are all
        // excluded) gives its share to the others.
        var total = 0.0;
        var clusters = routes.Clusters;
        for (var i = 0; i < clusters.Length; i++)
        {
            if (exclude is null || HasUsable(clusters[i].Nodes, exclude))
            {
                total += clusters[i].Share;
            }
        }

        if (total <= 0)
        {
            return Refuse(table, workload, exclude);
        }

        var target = Clamp01(clusterDraw) * total;
        WorkloadCluster? chosen = null;
        var cumulative = 0.0;
        for (var i = 0; i < clusters.Length; i++)
        {
            if (exclude is not null && !HasUsable(clusters[i].Nodes, exclude))
            {
                continue;
            }

            chosen = clusters[i];
            cumulative += chosen.Share;
            if (target < cumulative)
            {
                break;
            }
        }

        // chosen is set: total > 0 means at least one cluster passed; rounding at the top edge falls to the last.
        var node = PickNode(chosen!.Nodes, nodeDraw, outstanding, exclude);
        return node.Result;
    }

    /// <summary>Orders a cluster's nodes as the choice prefers them: priority ascending, weight descending, server number.</summary>
    internal static int CompareNodes(RouteNode a, RouteNode b)
    {
        var byPriority = a.Priority.CompareTo(b.Priority);
        if (byPriority != 0)
        {
            return byPriority;
        }

        var byWeight = b.Weight.CompareTo(a.Weight);
        return byWeight != 0 ? byWeight : a.ServerNumber.CompareTo(b.ServerNumber);
    }

    private static IndexedNode PickNode(IndexedNode[] nodes, double nodeDraw, Func<string, int> outstanding, IReadOnlySet<string>? exclude)
    {
        // Nodes are in preference order, so the first usable one carries the best priority.
        var first = 0;
        while (exclude is not null && exclude.Contains(nodes[first].Node.NodeId))
        {
            first++;
        }

        var priority = nodes[first].Node.Priority;
        var end = first;
        var anyWeight = false;
        while (end < nodes.Length && nodes[end].Node.Priority == priority)
        {
            anyWeight |= nodes[end].Node.Weight > 0 && (exclude is null || !exclude.Contains(nodes[end].Node.NodeId));
            end++;
        }

        // Weighted least outstanding: the lowest (outstanding + 1) / weight, compared by cross
        // multiplication so equal loads compare equal. Weight 0 counts only when all weights are 0.
        var count = end - first;
        Span<int> loads = count <= StackNodes ? stackalloc int[count] : new int[count];
        long bestLoad = 0;
        long bestWeight = 0;
        var ties = 0;
        for (var i = first; i < end; i++)
        {
            var node = nodes[i].Node;
            var weight = anyWeight ? node.Weight : 1;
            if (weight <= 0 || (exclude is not null && exclude.Contains(node.NodeId)))
            {
                loads[i - first] = -1;
                continue;
            }

            var load = Math.Max(0, outstanding(node.NodeId)) + 1L;
            loads[i - first] = (int)Math.Min(int.MaxValue, load);
            var compare = bestWeight == 0 ? -1 : (load * bestWeight).CompareTo(bestLoad * weight);
            if (compare < 0)
            {
                bestLoad = load;
                bestWeight = weight;
                ties = 1;
            }
            else if (compare == 0)
            {
                ties++;
            }
        }

        // Equal scores: the draw spreads idle nodes' sequential requests instead of sending all to the first.
        var pick = ties == 1 ? 0 : Math.Min(ties - 1, (int)(Clamp01(nodeDraw) * ties));
        var seen = 0;
        var last = first;
        for (var i = first; i < end; i++)
        {
            if (loads[i - first] < 0)
            {
                continue;
            }

            var weight = anyWeight ? nodes[i].Node.Weight : 1;
            if (loads[i - first] * bestWeight == bestLoad * weight)
            {
                last = i;
                if (seen++ == pick)
                {
                    return nodes[i];
                }
            }
        }

        return nodes[last];
    }

    private static bool HasUsable(IndexedNode[] nodes, IReadOnlySet<string> exclude)
    {
        foreach (var node in nodes)
        {
            if (!exclude.Contains(node.Node.NodeId))
            {
                return true;
            }
        }

        return false;
    }

    private static double Clamp01(double draw) => draw is >= 0 and < 1 ? draw : draw >= 1 ? Math.BitDecrement(1.0) : 0;

    private static RouteChoiceResult Refuse(RoutingTable table, string workload, IReadOnlySet<string>? exclude)
    {
        if (table.Clusters.Count == 0)
        {
            return new RouteChoiceResult(null, table.Degraded, table.Reason);
        }

        var reason = exclude is { Count: > 0 }
            ? $"no surviving node of a serving cluster other than {string.Join(", ", exclude.Order(StringComparer.Ordinal).Select(n => $"'{n}'"))} has a ready instance of '{workload}'"
            : $"no surviving node of a serving cluster has a ready instance of '{workload}'";
        if (table.Weights.ContainsKey(workload))
        {
            reason += " weighing more than 0 in its load-balancing table";
        }

        return new RouteChoiceResult(null, table.Degraded, reason);
    }
}
