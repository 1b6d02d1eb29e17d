using Drover.Gateway;
using Microsoft.AspNetCore.Routing;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the gateway's routes.</summary>
public static class GatewayEndpointRouteBuilderExtensions
{
    /// <summary>The gateway routes' order: an endpoint with a larger one is matched only where the gateway's are not.</summary>
    public const int GatewayRouteOrder = GatewayProxyConfigProvider.RouteOrder;

    /// <summary>
    /// Maps <c>/v1/invoke/{function}/{**rest}</c> and <c>/v1/services/{service}/{first}/{**rest}</c>
    /// through YARP, after every endpoint of the application (route order 10000). The proxy pipeline
    /// is the gateway's own (node choice, 503, one retry) followed by YARP's forwarder; YARP's session
    /// affinity, load balancing and passive health checks are not used.
    /// </summary>
    public static ReverseProxyConventionBuilder MapDroverGateway(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapReverseProxy(pipeline => pipeline.UseMiddleware<GatewayMiddleware>());
    }
}
