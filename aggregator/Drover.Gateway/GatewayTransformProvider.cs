using Drover.Protocol.Http;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Drover.Gateway;

/// <summary>
/// Replaces a caller's key and Drover credentials with the gateway's own on the request it forwards
/// (<see cref="Prove"/>), and adds the gateway's response headers to what the node answered, after YARP copied the node's own:
/// <c>X-Drover-Cluster</c>, <c>X-Drover-Degraded: true</c> while the table is degraded, and
/// <c>X-Drover-Node</c> when the shim's response lacks it (the shim's <c>X-Drover-Instance</c> passes as it is).
/// </summary>
internal sealed class GatewayTransformProvider(IGatewayAccess? access = null) : ITransformProvider
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
            context.AddRequestTransform(Prove);
            context.AddResponseTransform(AddHeaders);
        }
    }

    /// <summary>
    /// What a caller may not pass to a node: its key (checked here; an instance never sees it), and a
    /// shim credential or routing header of its own. The gateway's own credential goes in their place.
    /// </summary>
    private ValueTask Prove(RequestTransformContext context)
    {
        var headers = context.ProxyRequest.Headers;
        headers.Remove(DroverHeaders.ApiKey);
        headers.Remove(DroverHeaders.ShimCredential);
        headers.Remove(DroverHeaders.RouteInstance);
        if (access?.ShimCredential is { } credential)
        {
            headers.TryAddWithoutValidation(DroverHeaders.ShimCredential, credential);
        }

        return default;
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
