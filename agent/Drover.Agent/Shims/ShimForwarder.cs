using System.Net;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Drover.Agent.Shims;

/// <summary>
/// Forwards a request with YARP's <see cref="IHttpForwarder"/> through one shared client that never
/// uses a proxy, follows redirects or keeps cookies: to an instance's port on loopback, or to another
/// node's shim.
/// </summary>
internal sealed class ShimForwarder : IDisposable
{
    private readonly IHttpForwarder _forwarder;
    private readonly HttpMessageInvoker _client;
    private readonly ShimCredential _credential;

    public ShimForwarder(IHttpForwarder forwarder, ShimCredential credential)
    {
        _forwarder = forwarder;
        _credential = credential;
        _client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        });
    }

    /// <summary>
    /// Sends the request to <paramref name="target"/>; the error YARP met, or None. To another node,
    /// <paramref name="remaining"/> replaces the client's X-Drover-Timeout-Ms, so that node's queue
    /// gives up when this one does.
    /// </summary>
    public async Task<ForwarderError> ForwardAsync(HttpContext context, Uri target, string callId, string? routeInstance, TimeSpan timeout, CancellationToken cancellationToken, TimeSpan? remaining = null)
    {
        var config = new ForwarderRequestConfig
        {
            // Bounded by the call's own timeout (the token); this only stops an endless silence.
            ActivityTimeout = timeout + TimeSpan.FromSeconds(1),
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        var prefix = target.GetLeftPart(UriPartial.Authority);
        return await _forwarder.SendAsync(context, prefix, _client, config, new ShimTransformer(target, callId, routeInstance, routeInstance is null ? null : _credential.Value, remaining), cancellationToken);
    }

    public void Dispose() => _client.Dispose();
}
