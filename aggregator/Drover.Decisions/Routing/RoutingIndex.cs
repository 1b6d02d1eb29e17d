using System.Collections.Frozen;

namespace Drover.Decisions.Routing;

/// <summary>
/// A table's nodes arranged per workload for the per-request choice: per workload, the clusters with a
/// share and at least one node hosting it, each with those nodes in preference order and the result a
/// pick of each returns. Built once per table, so <see cref="RouteChoice.Pick"/> neither searches the
/// host sets nor allocates.
/// </summary>
internal sealed class RoutingIndex
{
    private RoutingIndex(FrozenDictionary<string, WorkloadRoutes> workloads) => Workloads = workloads;

    public FrozenDictionary<string, WorkloadRoutes> Workloads { get; }

    public static RoutingIndex Of(RoutingTable table)
    {
        var workloads = new Dictionary<string, WorkloadRoutes>(table.Hosts.Count, StringComparer.Ordinal);
        var reasons = new Dictionary<string, RouteChoiceResult>(StringComparer.Ordinal);
        foreach (var (workload, hosting) in table.Hosts)
        {
            table.Weights.TryGetValue(workload, out var weights);
            var clusters = new List<WorkloadCluster>(table.Clusters.Count);
            foreach (var cluster in table.Clusters)
            {
                if (!(cluster.Share > 0))
                {
                    continue;
                }

                var nodes = new List<IndexedNode>(cluster.Nodes.Count);
                foreach (var node in cluster.Nodes)
                {
                    if (!hosting.Contains(node.NodeId))
                    {
                        continue;
                    }

                    if (weights is not null)
                    {
                        // The workload's own table weighs its nodes; one at 0 takes none of its requests.
                        var weight = weights.TryGetValue(node.NodeId, out var tabled) ? tabled : 1;
                        if (weight > 0)
                        {
                            var weighed = node with { Weight = weight };
                            nodes.Add(new IndexedNode(weighed, new RouteChoiceResult(weighed, table.Degraded,
                                $"cluster '{node.Cluster}' by its share, node '{node.NodeId}' by priority {node.Priority}, weight {weight} in the load-balancing table of '{workload}' and outstanding requests")));
                        }

                        continue;
                    }

                    // One result per node and table, shared by every workload it serves.
                    if (!reasons.TryGetValue(node.NodeId, out var result))
                    {
                        reasons[node.NodeId] = result = new RouteChoiceResult(node, table.Degraded,
                            $"cluster '{node.Cluster}' by its share, node '{node.NodeId}' by priority {node.Priority}, weight {node.Weight} and outstanding requests");
                    }

                    nodes.Add(new IndexedNode(node, result));
                }

                if (nodes.Count > 0)
                {
                    // Tables built by hand need not be sorted; Build's already are (a stable sort keeps them).
                    IndexedNode[] sorted = [.. nodes.OrderBy(n => n.Node, Comparer<RouteNode>.Create(RouteChoice.CompareNodes))];
                    clusters.Add(new WorkloadCluster(cluster.Share, sorted));
                }
            }

            workloads[workload] = new WorkloadRoutes([.. clusters]);
        }

        return new RoutingIndex(workloads.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>The clusters that can serve one workload.</summary>
    internal sealed record WorkloadRoutes(WorkloadCluster[] Clusters);

    /// <summary>A cluster with a share and its nodes that host the workload, in preference order.</summary>
    internal sealed record WorkloadCluster(double Share, IndexedNode[] Nodes);

    /// <summary>A node and the result a pick of it returns.</summary>
    internal sealed record IndexedNode(RouteNode Node, RouteChoiceResult Result);
}
