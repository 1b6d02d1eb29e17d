using Drover.Protocol.Http;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Drover.Gateway;

/// <summary>
/// Adds the gateway's response headers to what the node answered, after YARP copied the node's own:
/// <c>X-Drover-Cluster</c>, <c>X-Drover-Degraded: true</c> while the table is degraded, and
/// <c>X-Drover-Node</c> when the shim's response lacks it (the shim's <c>X-Drover-Instance</c> passes as it is).
/// </summary>
internal sealed class GatewayTransformProvider : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        if (string.Equals(context.Route.ClusterId, GatewayProxyConfigProvider.ClusterId, StringComparison.Ordinal))
        {
            context.AddResponseTransform(AddHeaders);
        }
    }

    private static ValueTask AddHeaders(ResponseTransformContext context)
    {
        // No response (the node failed): the gateway's middleware answers, with its own headers.
        if (context.ProxyResponse is null || context.HttpContext.Features.Get<GatewayRouteFeature>() is not { } route)
        {
            return default;
        }

        var headers = context.HttpContext.Response.Headers;
        if (route.Choice?.Node is { } node)
        {
            headers[DroverHeaders.Cluster] = node.Cluster;
            if (!headers.ContainsKey(DroverHeaders.Node))
            {
                headers[DroverHeaders.Node] = node.NodeId;
            }
        }

        if (route.Table.Degraded)
        {
            headers[DroverHeaders.Degraded] = "true";
        }

        return default;
    }
}
