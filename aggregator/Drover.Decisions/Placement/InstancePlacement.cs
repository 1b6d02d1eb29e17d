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

        // 2. Every function has an instance on every surviving node; a counted workload has its count.
        foreach (var function in snapshot.Functions.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            if (function.Instances is { } wanted)
            {
                PlaceCounted(function.Name, wanted, snapshot, survivors, load, actions);
                continue;
            }

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

    /// <summary>
    /// A workload that wants a number of instances: new ones go to the surviving node with fewest of
    /// its instances, then fewest in all; extras are removed from the nodes holding most of them.
    /// </summary>
    private static void PlaceCounted(string name, int wanted, PlacementSnapshot snapshot, List<PlacementNode> survivors, Dictionary<string, int> load, List<PlacementAction> actions)
    {
        var mine = survivors.ToDictionary(n => n.NodeId, _ => 0, StringComparer.Ordinal);
        var instances = snapshot.Instances.Where(i => i.Function == name).ToList();
        foreach (var instance in instances)
        {
            var node = actions.FirstOrDefault(a => a.Kind == PlacementActionKind.Move && a.InstanceId == instance.InstanceId)?.ToNodeId ?? instance.NodeId;
            if (mine.ContainsKey(node))
            {
                mine[node]++;
            }
        }

        var count = instances.Count;
        while (count < wanted)
        {
            var target = survivors
                .OrderBy(n => mine[n.NodeId])
                .ThenBy(n => load[n.NodeId])
                .ThenBy(n => n.Cluster, StringComparer.Ordinal)
                .ThenBy(n => n.ServerNumber)
                .FirstOrDefault();
            if (target is null)
            {
                actions.Add(new PlacementAction(PlacementActionKind.Shortfall, name, null, null, null,
                    $"'{name}' wants {wanted} instances and has {count}: no node survives to start one on"));
                return;
            }

            mine[target.NodeId]++;
            load[target.NodeId]++;
            count++;
            actions.Add(new PlacementAction(PlacementActionKind.Start, name, null, null, target.NodeId,
                $"'{name}' wants {wanted} instances and had {count - 1}; node '{target.NodeId}' holds fewest of them ({mine[target.NodeId] - 1})"));
        }

        // Extras: newest decisions first would be arbitrary; the node holding most, then the last id, is stable.
        var extras = instances
            .OrderByDescending(i => mine.GetValueOrDefault(i.NodeId, int.MaxValue))
            .ThenByDescending(i => i.InstanceId, StringComparer.Ordinal)
            .Take(Math.Max(0, count - wanted));
        foreach (var extra in extras)
        {
            actions.Add(new PlacementAction(PlacementActionKind.Remove, name, extra.InstanceId, extra.NodeId, null,
                $"'{name}' wants {wanted} instances and has {count}; removed from node '{extra.NodeId}', which holds most of them"));
        }
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
