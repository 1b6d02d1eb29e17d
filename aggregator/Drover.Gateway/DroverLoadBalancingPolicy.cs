using Drover.Decisions.Routing;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;

namespace Drover.Gateway;

/// <summary>
/// The gateway's node choice as a YARP load-balancing policy: <see cref="RouteChoice.Pick"/> over the
/// request's routing table with random draws and the gateway's in-flight counts, skipping the nodes
/// that already failed the request and, while another can serve, those recently ejected
/// (<see cref="GatewayEjections"/>). Returns null, with the reason in <see cref="GatewayRouteFeature.Choice"/>,
/// when no node can serve.
/// </summary>
/// <remarks>
/// <see cref="GatewayMiddleware"/> calls it for every request. YARP's own load-balancing middleware
/// would not: it skips the policy when one destination is available (and then forwards to a node
/// that may not host the workload), so the gateway's pipeline does not use it.
/// </remarks>
internal sealed class DroverLoadBalancingPolicy(GatewayRoutingTable table, GatewayLoad load, GatewayRandom random, GatewayEjections ejections) : ILoadBalancingPolicy
{
    /// <summary>The policy's name in the cluster's configuration.</summary>
    public const string PolicyName = "drover-route-choice";

    public string Name => PolicyName;

    public DestinationState? PickDestination(HttpContext context, ClusterState cluster, IReadOnlyList<DestinationState> availableDestinations)
    {
        var route = context.Features.Get<GatewayRouteFeature>();
        if (route is null)
        {
            var workload = GatewayRouteFeature.WorkloadOf(context);
            if (workload is null)
            {
                return null;
            }

            route = new GatewayRouteFeature(workload, table.Current);
            context.Features.Set(route);
        }

        IReadOnlySet<string>? exclude = ejections.With(route.Failed);
        while (true)
        {
            var choice = RouteChoice.Pick(route.Table, route.Workload, random.NextDouble(), random.NextDouble(), load.NodeInFlightFunc, exclude);
            if (choice.Node is null && !ReferenceEquals(exclude, route.Failed))
            {
                // Only ejected nodes could serve: better a node that failed a while ago than none.
                exclude = route.Failed;
                continue;
            }

            route.Choice = choice;
            if (choice.Node is not { } node)
            {
                return null;
            }

            for (var i = 0; i < availableDestinations.Count; i++)
            {
                if (string.Equals(availableDestinations[i].DestinationId, node.NodeId, StringComparison.Ordinal))
                {
                    return availableDestinations[i];
                }
            }

            // The table is ahead of YARP's destinations (a configuration not yet applied): choose
            // among the others; each round excludes one more node, so this ends.
            exclude = new HashSet<string>(exclude ?? Enumerable.Empty<string>(), StringComparer.Ordinal) { node.NodeId };
        }
    }
}
