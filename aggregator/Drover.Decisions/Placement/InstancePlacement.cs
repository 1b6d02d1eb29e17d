namespace Drover.Decisions.Placement;

/// <summary>
/// Where instances run, until the autoscaler takes over: every function wants one instance per
/// surviving node; an instance of a lost node resumes on another surviving node, of the same cluster
/// first, then the one running fewest instances. Pure: a function of the snapshot.
/// </summary>
public static class InstancePlacement
{
    public static IReadOnlyList<PlacementAction> Decide(PlacementSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var actions = new List<PlacementAction>();
        var nodes = snapshot.Nodes.ToDictionary(n => n.NodeId, StringComparer.Ordinal);
        var survivors = snapshot.Nodes.Where(n => n.Survives).ToList();

        // Instances per node after the decisions taken so far: the "fewest instances" of every choice.
        var load = survivors.ToDictionary(n => n.NodeId, _ => 0, StringComparer.Ordinal);
        var hosting = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var instance in snapshot.Instances)
        {
            if (load.ContainsKey(instance.NodeId))
            {
                load[instance.NodeId]++;
            }

            Hosts(hosting, instance.Function).Add(instance.NodeId);
        }

        // 1. Instances of lost nodes resume elsewhere.
        foreach (var instance in snapshot.Instances.OrderBy(i => i.InstanceId, StringComparer.Ordinal))
        {
            if (!nodes.TryGetValue(instance.NodeId, out var home) || !home.Lost)
            {
                continue;
            }

            var target = survivors
                .OrderBy(n => n.Cluster == home.Cluster ? 0 : 1)
                .ThenBy(n => load[n.NodeId])
                .ThenBy(n => n.Cluster, StringComparer.Ordinal)
                .ThenBy(n => n.ServerNumber)
                .FirstOrDefault();
            if (target is null)
            {
                actions.Add(new PlacementAction(PlacementActionKind.Shortfall, instance.Function, instance.InstanceId, home.NodeId, null,
                    $"node '{home.NodeId}' is lost and no node survives to resume instance '{instance.InstanceId}' on"));
                continue;
            }

            load[target.NodeId]++;
            Hosts(hosting, instance.Function).Add(target.NodeId);
            var where = target.Cluster == home.Cluster ? "same cluster" : $"cluster '{target.Cluster}', none of '{home.Cluster}' survives";
            actions.Add(new PlacementAction(PlacementActionKind.Move, instance.Function, instance.InstanceId, home.NodeId, target.NodeId,
                $"node '{home.NodeId}' is lost; resumed on node '{target.NodeId}' ({where}, {load[target.NodeId] - 1} instances before) from its last committed state"));
        }

        // 2. Every function has an instance on every surviving node.
        foreach (var function in snapshot.Functions.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            var hosts = Hosts(hosting, function.Name);
            foreach (var node in survivors.OrderBy(n => n.Cluster, StringComparer.Ordinal).ThenBy(n => n.ServerNumber))
            {
                if (hosts.Contains(node.NodeId))
                {
                    continue;
                }

                // Count instances that moved here for this function too: one per node is the aim, not more.
                var instancesOfFunction = snapshot.Instances.Count(i => i.Function == function.Name) + actions.Count(a => a.Kind == PlacementActionKind.Start && a.Function == function.Name);
                if (instancesOfFunction >= survivors.Count)
                {
                    break;
                }

                hosts.Add(node.NodeId);
                load[node.NodeId]++;
                actions.Add(new PlacementAction(PlacementActionKind.Start, function.Name, null, null, node.NodeId,
                    $"function '{function.Name}' runs one instance per surviving node and node '{node.NodeId}' has none"));
            }
        }

        return actions;
    }

    private static HashSet<string> Hosts(Dictionary<string, HashSet<string>> hosting, string function)
    {
        if (!hosting.TryGetValue(function, out var hosts))
        {
            hosts = new HashSet<string>(StringComparer.Ordinal);
            hosting[function] = hosts;
        }

        return hosts;
    }
}
