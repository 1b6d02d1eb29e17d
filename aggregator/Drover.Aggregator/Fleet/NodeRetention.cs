namespace Drover.Aggregator.Fleet;

/// <summary>
/// Which node rows to forget: a pure function of a node table snapshot, an instance table snapshot
/// and the retention. <see cref="LostNodePruner"/> acts on it.
/// </summary>
/// <remarks>
/// A row goes only when the node is lost, has no stream, has been silent (no heartbeat) for at
/// least the retention, and no instance is assigned to it or last reported from it. An instance
/// assigned to a lost node waits there to be resumed elsewhere with its state: its node stays known
/// until the instance has moved.
/// </remarks>
internal static class NodeRetention
{
    /// <summary>The nodes to forget now, in the snapshot's order.</summary>
    public static IReadOnlyList<NodeView> ToForget(IReadOnlyList<NodeView> nodes, IReadOnlyList<InstanceView> instances, TimeSpan retention)
    {
        HashSet<string>? holding = null;
        List<NodeView>? forget = null;
        foreach (var node in nodes)
        {
            if (node.Survival != NodeSurvival.Lost || node.Connected || node.SinceLastHeartbeat < retention)
            {
                continue;
            }

            holding ??= HoldingNodes(instances);
            if (!holding.Contains(node.NodeId))
            {
                (forget ??= []).Add(node);
            }
        }

        return forget ?? [];
    }

    private static HashSet<string> HoldingNodes(IReadOnlyList<InstanceView> instances)
    {
        var holding = new HashSet<string>(StringComparer.Ordinal);
        foreach (var instance in instances)
        {
            holding.Add(instance.AssignedNodeId);
            if (instance.ReportedNodeId is { } reported)
            {
                holding.Add(reported);
            }
        }

        return holding;
    }
}
