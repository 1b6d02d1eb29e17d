using Drover.Protocol.V1;

namespace Drover.Agent.Shims;

/// <summary>
/// Picks the route of a service request: by rendezvous hashing of the routing field's value when the
/// request has one (the same value reaches the same instance from every node while the table is
/// unchanged), else by the table's policy over this node's in-flight counts.
/// </summary>
internal sealed class ServiceRouter
{
    private readonly Random _random;

    public ServiceRouter(Random random) => _random = random;

    /// <summary>The route for a request; null when the table has none.</summary>
    public ServiceRoute? Choose(ServiceRouteTable table, ReadOnlySpan<byte> key, bool hasKey, Func<string, int> inFlight)
    {
        var routes = table.Routes.Routes;
        if (routes.Count == 0)
        {
            return null;
        }

        if (hasKey)
        {
            return routes[RendezvousHash.Choose(key, table.InstanceIds)];
        }

        if (table.Routes.Policy == BalancingPolicy.PowerOfTwoChoices && routes.Count > 1)
        {
            var first = _random.Next(routes.Count);
            var second = _random.Next(routes.Count - 1);
            if (second >= first)
            {
                second++;
            }

            return Fewer(routes[first], routes[second], inFlight);
        }

        // Least in flight (also the default): ties go to the first by instance id.
        ServiceRoute? best = null;
        foreach (var route in routes)
        {
            best = best is null ? route : Fewer(best, route, inFlight);
        }

        return best;
    }

    private static ServiceRoute Fewer(ServiceRoute a, ServiceRoute b, Func<string, int> inFlight)
    {
        var (na, nb) = (inFlight(a.InstanceId), inFlight(b.InstanceId));
        if (na != nb)
        {
            return na < nb ? a : b;
        }

        return string.CompareOrdinal(a.InstanceId, b.InstanceId) <= 0 ? a : b;
    }
}
