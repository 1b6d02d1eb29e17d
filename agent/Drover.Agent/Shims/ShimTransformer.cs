using System.Globalization;
using Drover.Protocol.Http;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Drover.Agent.Shims;

/// <summary>
/// YARP's default request transform, with the target's own URI (the path after the shim's prefix, and
/// the query) and the shim's headers: the call id, and for another node the instance it must use.
/// </summary>
internal sealed class ShimTransformer : HttpTransformer
{
    private readonly Uri _target;
    private readonly string _callId;
    private readonly string? _routeInstance;
    private readonly TimeSpan? _remaining;

    public ShimTransformer(Uri target, string callId, string? routeInstance, TimeSpan? remaining)
    {
        _target = target;
        _callId = callId;
        _routeInstance = routeInstance;
        _remaining = remaining;
    }

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        proxyRequest.RequestUri = _target;
        proxyRequest.Headers.Remove(DroverHeaders.CallId);
        proxyRequest.Headers.TryAddWithoutValidation(DroverHeaders.CallId, _callId);
        proxyRequest.Headers.Remove(DroverHeaders.RouteInstance);
        if (_routeInstance is not null)
        {
            proxyRequest.Headers.TryAddWithoutValidation(DroverHeaders.RouteInstance, _routeInstance);
        }

        if (_remaining is { } remaining)
        {
            proxyRequest.Headers.Remove(DroverHeaders.TimeoutMs);
            proxyRequest.Headers.TryAddWithoutValidation(DroverHeaders.TimeoutMs, ((long)Math.Max(1, remaining.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture));
        }

        // The original host would name the node port, not the instance.
        proxyRequest.Headers.Host = null;
    }
}
