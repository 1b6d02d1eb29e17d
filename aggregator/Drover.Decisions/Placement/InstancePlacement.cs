namespace Drover.Decisions.Placement;

/// <summary>
/// Where instances run, until the autoscaler takes over: every function wants one instance per
/// surviving node; an instance of a lost node resumes on another surviving node: of its home cluster
/// while that cluster serves, else of the clusters the health decision names as its backups (best
/// first), else any; the one running fewest instances. An instance away from its home cluster goes
/// back once the home cluster serves again (failback). Pure: a function of the snapshot.
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
        var copies = new Dictionary<(string Function, string NodeId), int>();
        foreach (var instance in snapshot.Instances)
        {
            if (load.ContainsKey(instance.NodeId))
            {
                load[instance.NodeId]++;
            }

            Hosts(hosting, instance.Function).Add(instance.NodeId);
            copies[(instance.Function, instance.NodeId)] = copies.GetValueOrDefault((instance.Function, instance.NodeId)) + 1;
        }

        var everyNode = snapshot.Functions.Where(f => f.Instances is null).Select(f => f.Name).ToHashSet(StringComparer.Ordinal);

        var backups = snapshot.Backups ?? new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);

        // 1. Instances of lost nodes resume elsewhere; instances away from a home cluster that serves
        //    again go back; a second copy of a one-per-node function on a node goes to a node of its
        //    cluster that has none (the node it left came back, say).
        foreach (var instance in snapshot.Instances.OrderBy(i => i.InstanceId, StringComparer.Ordinal))
        {
            if (!nodes.TryGetValue(instance.NodeId, out var current))
            {
                // Its node is gone from the table (forgotten, or replaced under its server number):
                // as good as lost, or the instance would never run again.
                current = new PlacementNode(instance.NodeId, instance.HomeCluster ?? "", 0, Survives: false, Lost: true);
            }

            var homeCluster = instance.HomeCluster ?? current.Cluster;
            if (current.Lost)
            {
                var target = MoveFromLost(instance, current, homeCluster, survivors, backups, load, hosting, actions);
                if (target is not null)
                {
                    copies[(instance.Function, target)] = copies.GetValueOrDefault((instance.Function, target)) + 1;
                }
            }
            else if (!backups.ContainsKey(homeCluster)
                && (current.Cluster != homeCluster || (everyNode.Contains(instance.Function) && copies.GetValueOrDefault((instance.Function, current.NodeId)) > 1)))
            {
                Rehome(instance, current, homeCluster, everyNode.Contains(instance.Function), survivors, load, hosting, copies, actions);
            }
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
    /// An instance of a lost node: to its home cluster while it serves, else to its backups in order,
    /// else to any survivor; inside the chosen cluster, the node running fewest instances.
    /// </summary>
    /// <returns>The node it resumes on; null when none survives.</returns>
    private static string? MoveFromLost(PlacementInstance instance, PlacementNode lost, string homeCluster, List<PlacementNode> survivors, IReadOnlyDictionary<string, IReadOnlyList<string>> backups, Dictionary<string, int> load, Dictionary<string, HashSet<string>> hosting, List<PlacementAction> actions)
    {
        var order = backups.TryGetValue(homeCluster, out var targets) ? targets : [homeCluster];
        PlacementNode? target = null;
        string where;
        var rank = 0;
        foreach (var cluster in order)
        {
            target = Fewest(survivors.Where(n => n.Cluster == cluster), load);
            if (target is not null)
            {
                break;
            }

            rank++;
        }

        if (target is not null)
        {
            where = target.Cluster == homeCluster ? "its home cluster"
                : $"cluster '{target.Cluster}', backup {rank + 1} of '{homeCluster}', which cannot serve now";
        }
        else
        {
            target = Fewest(survivors, load);
            where = target is null ? "" : $"cluster '{target.Cluster}': no node of '{homeCluster}' or its backups survives";
        }

        if (target is null)
        {
            actions.Add(new PlacementAction(PlacementActionKind.Shortfall, instance.Function, instance.InstanceId, lost.NodeId, null,
                $"node '{lost.NodeId}' is lost and no node survives to resume instance '{instance.InstanceId}' on"));
            return null;
        }

        load[target.NodeId]++;
        Hosts(hosting, instance.Function).Add(target.NodeId);
        actions.Add(new PlacementAction(PlacementActionKind.Move, instance.Function, instance.InstanceId, lost.NodeId, target.NodeId,
            $"node '{lost.NodeId}' is lost; resumed on node '{target.NodeId}' ({where}, {load[target.NodeId] - 1} instances before) from its last committed state"));
        return target.NodeId;
    }

    /// <summary>
    /// An instance to bring home: away from its home cluster while that cluster serves again
    /// (failback), or a second copy of a one-per-node function on its node (rebalance). It goes to the
    /// home node with fewest copies of the workload, then fewest instances; a one-per-node function
    /// only to a node that has none, else it waits where it is.
    /// </summary>
    private static void Rehome(PlacementInstance instance, PlacementNode current, string homeCluster, bool onePerNode, List<PlacementNode> survivors, Dictionary<string, int> load, Dictionary<string, HashSet<string>> hosting, Dictionary<(string Function, string NodeId), int> copies, List<PlacementAction> actions)
    {
        var function = instance.Function;
        var target = survivors
            .Where(n => n.Cluster == homeCluster && n.NodeId != current.NodeId && (!onePerNode || copies.GetValueOrDefault((function, n.NodeId)) == 0))
            .OrderBy(n => copies.GetValueOrDefault((function, n.NodeId)))
            .ThenBy(n => load[n.NodeId])
            .ThenBy(n => n.ServerNumber)
            .FirstOrDefault();
        if (target is null)
        {
            return;
        }

        var left = copies[(function, current.NodeId)] -= 1;
        if (left == 0)
        {
            Hosts(hosting, function).Remove(current.NodeId);
        }

        if (load.ContainsKey(current.NodeId))
        {
            load[current.NodeId]--;
        }

        copies[(function, target.NodeId)] = copies.GetValueOrDefault((function, target.NodeId)) + 1;
        load[target.NodeId]++;
        Hosts(hosting, function).Add(target.NodeId);
        var reason = current.Cluster != homeCluster
            ? $"failback: home cluster '{homeCluster}' serves again; instance '{instance.InstanceId}' moves from node '{current.NodeId}' of cluster '{current.Cluster}' to node '{target.NodeId}' with its last committed state"
            : $"rebalance: node '{current.NodeId}' runs {left + 1} instances of '{function}' and node '{target.NodeId}' of the same cluster none; instance '{instance.InstanceId}' moves there with its last committed state";
        actions.Add(new PlacementAction(PlacementActionKind.Move, function, instance.InstanceId, current.NodeId, target.NodeId, reason));
    }

    private static PlacementNode? Fewest(IEnumerable<PlacementNode> nodes, Dictionary<string, int> load)
        => nodes.OrderBy(n => load[n.NodeId]).ThenBy(n => n.Cluster, StringComparer.Ordinal).ThenBy(n => n.ServerNumber).FirstOrDefault();

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
