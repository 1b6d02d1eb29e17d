using System.Net;
using System.Security.Cryptography;
using System.Text;
using Drover.Agent.Configuration;
using Drover.Agent.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using OpenTelemetry.Metrics;

namespace Drover.Agent.Shims;

/// <summary>
/// The node's HTTP server on its port (the one every heartbeat names): Kestrel with HTTP/1.1 and
/// HTTP/2 enabled, serving the shim's endpoints (on cleartext Kestrel serves HTTP/1.1 only, see below). Its own small web
/// application inside the agent's generic host, so the agent stays a worker and tests can run the
/// shim alone. A port in use fails the agent's start with Kestrel's IOException (exit 78). It also serves the agent's
/// Prometheus metrics at <see cref="MetricsPath"/> (<see cref="AgentMetrics"/>) unless <c>metricsEnabled</c> is false.
/// </summary>
internal sealed partial class ShimServer : IHostedService, IAsyncDisposable
{
    /// <summary>Where Prometheus scrapes the agent, on the node's port.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>
    /// Series kept per instrument: the agent's are per function, service or instance on one node, a few hundred at
    /// most; OpenTelemetry's default (2,000) would hold room for ten times that in every instrument of an idle daemon.
    /// </summary>
    public const int MetricsSeriesLimit = 200;

    private readonly AgentOptions _options;
    private readonly ShimRequestHandler _handler;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger<ShimServer> _logger;
    private readonly TimeProvider _time;
    private readonly AgentMetrics? _metrics;
    private WebApplication? _app;

    public ShimServer(AgentOptions options, ShimRequestHandler handler, ILoggerFactory loggers, TimeProvider time, AgentMetrics? metrics = null)
    {
        _metrics = metrics;
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
        var scrapeToken = _options.MetricsEnabled && _metrics is not null ? ReadScrapeToken(_options.MetricsTokenFile) : null;
        if (_options.MetricsEnabled && _metrics is not null)
        {
            builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
                .AddMeter(AgentMetrics.Exported)
                .AddView("*", new MetricStreamConfiguration { CardinalityLimit = MetricsSeriesLimit })
                .AddPrometheusExporter());
        }

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
        if (_options.MetricsEnabled && _metrics is not null)
        {
            app.MapPrometheusScrapingEndpoint(MetricsPath, meterProvider: null, configureBranchedPipeline: scrapeToken is null ? null : branch => branch.Use(RequireToken(scrapeToken)), optionsName: null);
        }

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

    /// <summary>
    /// The token in <c>metricsTokenFile</c> (trimmed), or null for none configured. Unreadable or empty is a
    /// configuration error: checked at start with the rest (AgentHost), read again when the server starts.
    /// </summary>
    internal static byte[]? ReadScrapeToken(string file)
    {
        if (string.IsNullOrEmpty(file))
        {
            return null;
        }

        string token;
        try
        {
            token = File.ReadAllText(file).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"metricsTokenFile = '{file}': {ex.Message}; expected a readable file holding the scrape's bearer token", ex);
        }

        return token.Length > 0 ? Encoding.UTF8.GetBytes(token) : throw new ConfigurationException($"metricsTokenFile = '{file}': the file is empty; expected the scrape's bearer token");
    }

    /// <summary>A scrape without <c>Authorization: Bearer</c> and the token is answered 401, compared in constant time.</summary>
    private static Func<HttpContext, RequestDelegate, Task> RequireToken(byte[] token) => (context, next) =>
    {
        var header = context.Request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        if (header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[Scheme.Length..].Trim()), token))
        {
            return next(context);
        }

        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 3020, EventName = "ShimListening", Level = LogLevel.Information,
            Message = "The shim listens on {Address} port {Port} (HTTP/1.1; HTTP/2 with TLS only).")]
        public static partial void Listening(ILogger logger, string address, int port);
    }
}
