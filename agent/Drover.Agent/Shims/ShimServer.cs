using System.Net;
using Drover.Agent.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Drover.Agent.Shims;

/// <summary>
/// The node's HTTP server on its port (the one every heartbeat names): Kestrel with HTTP/1.1 and
/// HTTP/2 enabled, serving the shim's endpoints (on cleartext Kestrel serves HTTP/1.1 only, see below). Its own small web
/// application inside the agent's generic host, so the agent stays a worker and tests can run the
/// shim alone. A port in use fails the agent's start with Kestrel's IOException (exit 78).
/// </summary>
internal sealed partial class ShimServer : IHostedService, IAsyncDisposable
{
    private readonly AgentOptions _options;
    private readonly ShimRequestHandler _handler;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger<ShimServer> _logger;
    private readonly TimeProvider _time;
    private WebApplication? _app;

    public ShimServer(AgentOptions options, ShimRequestHandler handler, ILoggerFactory loggers, TimeProvider time)
    {
        _options = options;
        _time = time;
        _handler = handler;
        _loggers = loggers;
        _logger = loggers.CreateLogger<ShimServer>();
    }

    /// <summary>The address and port it listens on, once started (the port is the real one when 0 was asked).</summary>
    public IPEndPoint? EndPoint { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var address = IPAddress.Parse(_options.ShimListenAddress);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(_loggers);
        builder.Services.AddSingleton<IHostLifetime, ShimHostLifetime>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // An h2c connection is let in as if it were TLS with ALPN h2 (H2cPrefaceDetector); its
            // requests keep their own scheme, http.
            kestrel.AllowAlternateSchemes = true;
            kestrel.Listen(address, _options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.Use(H2cPrefaceDetector.Middleware(_time));
            });
        });
        var app = builder.Build();
        // The handler takes the rest of the path from the request itself, escaped as it came.
        app.MapPost("/v1/invoke/{function}/{**path}", (HttpContext context, string function) => _handler.InvokeFunctionAsync(context, function));
        app.Map("/v1/services/{service}/{**path}", (HttpContext context, string service) => _handler.ServeServiceAsync(context, service));

        await app.StartAsync(cancellationToken);
        _app = app;
        var bound = app.Urls.Select(u => new Uri(u)).FirstOrDefault();
        EndPoint = new IPEndPoint(address, bound?.Port ?? _options.Port);
        Log.Listening(_logger, address.ToString(), EndPoint.Port);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
            _app = null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3020, EventName = "ShimListening", Level = LogLevel.Information,
            Message = "The shim listens on {Address} port {Port} (HTTP/1.1; HTTP/2 with TLS only).")]
        public static partial void Listening(ILogger logger, string address, int port);
    }
}
