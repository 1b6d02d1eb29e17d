namespace Drover.Decisions.Routing;

/// <summary>
/// A new leader's first routing tables: built from the nodes that have reconnected to it so far, they would route
/// nothing to the rest, though their instances still run and their shims still answer. So the table the last leader
/// published stays in force until the new one covers it, every (workload, node) it routed to being routed again, or
/// until the grace has passed (a node that is not back by then is lost, as after a restart).
/// </summary>
public static class RoutingHandover
{
    /// <summary>Whether <paramref name="inherited"/> is still served in place of <paramref name="built"/>.</summary>
    public static bool Holds(RoutingTable inherited, RoutingTable built, TimeSpan sinceStart, TimeSpan grace)
    {
        ArgumentNullException.ThrowIfNull(inherited);
        ArgumentNullException.ThrowIfNull(built);
        if (sinceStart >= grace)
        {
            return false;
        }

        foreach (var (workload, nodes) in inherited.Hosts)
        {
            // A workload the last table routed to no node (none ready then) asks for nothing to be covered.
            if (nodes.Count > 0 && !(built.Hosts.TryGetValue(workload, out var now) && nodes.IsSubsetOf(now)))
            {
                return true;
            }
        }

        return false;
    }
}
