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
    private readonly string? _credential;
    private readonly TimeSpan? _remaining;

    /// <param name="target">Where the request goes: an instance's port, or another node's shim.</param>
    /// <param name="callId">The call's id.</param>
    /// <param name="routeInstance">For another node: the instance that must serve it there.</param>
    /// <param name="credential">The fleet's shim credential, sent with <paramref name="routeInstance"/> to another node's shim; never to an instance.</param>
    /// <param name="remaining">For another node: how long the call may still take.</param>
    public ShimTransformer(Uri target, string callId, string? routeInstance, string? credential, TimeSpan? remaining)
    {
        _credential = credential;
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
        proxyRequest.Headers.Remove(DroverHeaders.ShimCredential);
        proxyRequest.Headers.Remove(DroverHeaders.ApiKey); // checked here; the credential stands for it on another node
        if (_routeInstance is not null)
        {
            proxyRequest.Headers.TryAddWithoutValidation(DroverHeaders.RouteInstance, _routeInstance);
            if (_credential is not null)
            {
                proxyRequest.Headers.TryAddWithoutValidation(DroverHeaders.ShimCredential, _credential);
            }
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
