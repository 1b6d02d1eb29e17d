using System.Net;
using System.Threading.RateLimiting;
using Drover.Aggregator.Access;
using Drover.Aggregator.Api;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.Dashboard;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Security;
using Drover.Aggregator.State;
using Drover.Aggregator.Workloads;
using Microsoft.Extensions.Hosting.Systemd;
using Serilog;
using Yarp.ReverseProxy.Forwarder;

namespace Drover.Aggregator.Leadership;

/// <summary>
/// What an aggregator among several on PostgreSQL runs while another leads, on the same ports as when it leads:
/// <list type="bullet">
/// <item>the gateway, from the routing table the leader publishes (<see cref="RoutingFollower"/>) and the definitions
/// and keys in the store (<see cref="DefinitionRefresher"/>), forwarding straight to the nodes' shims, so requests keep
/// flowing through it whoever leads, and while nobody does;</item>
/// <item>the management API, forwarded whole to the leader's (its token checked there), and <c>GET /v1/leader</c>
/// answered here; 503 with Retry-After while no leader is reachable. <c>/metrics</c> is not served: a follower has no
/// fleet to export, and Prometheus scrapes the leader;</item>
/// <item>the dashboard's files (its API calls are forwarded like any);</item>
/// <item>the agent link, answering every Hello with a Redirect to the leader (<see cref="FollowerLinkService"/>).</item>
/// </list>
/// It keeps no fleet state and makes no decision.
/// </summary>
internal static class FollowerHost
{
    /// <summary>How long a forwarded API request may go without a byte either way (an event stream idles between events).</summary>
    private static readonly TimeSpan ForwardActivityTimeout = TimeSpan.FromMinutes(10);

    public static WebApplication Build(AggregatorOptions options, Serilog.ILogger logger, LeaderElection election, PostgresStateStore store, AggregatorIdentity identity)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Services.AddSerilog(logger, dispose: false);
        AggregatorHost.ConfigureListeners(builder, options, logger, TimeProvider.System, shared: true);

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(identity);
        builder.Services.AddSingleton(election);
        builder.Services.AddSingleton(store);
        builder.Services.AddDroverApiAccess(ApiTokenStore.Load(options.ApiTokensFile));
        builder.Services.AddSingleton<IAggregatorStore>(store);
        builder.Services.AddSingleton<IDefinitionStore>(store);
        builder.Services.AddDefinitionsAndGateway(options);
        builder.Services.AddHostedService<RoutingFollower>();
        builder.Services.AddHostedService<DefinitionRefresher>();
        builder.Services.AddHttpForwarder();

        // systemd (Type=notify): READY=1 once the follower serves (HighAvailability), WATCHDOG=1 while the election loop
        // polls. Not AddSystemd: its lifetime would say STOPPING=1 when the follower hands over to the leader it became.
        builder.Services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
        builder.Services.AddSingleton(sp => new SystemdWatchdog(
            sp.GetRequiredService<ISystemdNotifier>(),
            SystemdWatchdog.TimeoutFromEnvironment(Environment.GetEnvironmentVariable),
            [election.Progress],
            sp.GetRequiredService<ILogger<SystemdWatchdog>>()));
        builder.Services.AddHostedService<WatchdogPetter>();
        builder.Services.AddGrpc();

        var app = builder.Build();
        AggregatorHost.UsePortSeparation(app, options);
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGrpcService<FollowerLinkService>();
        app.MapLeaderApi(() => LeaderApi.Of(identity.Id, election.Observed, options.LeaderRenewal, store.Description))
            .RequireAuthorization(ApiAccessServiceCollectionExtensions.Policy);
        app.MapDashboard();
        if (options.GatewayEnabled)
        {
            app.MapDroverGateway();
        }

        var forwarding = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            EnableMultipleHttp2Connections = true,
        });
        app.Lifetime.ApplicationStopped.Register(forwarding.Dispose);
        var forwardConfig = new ForwarderRequestConfig { ActivityTimeout = ForwardActivityTimeout };
        var transformer = new ForwardedByTransformer(store.GetOrCreateSecret(LeaderStart.ForwardingSecretName, ShimCredentialFile.NewValue));

        // Each client is limited here, as the leader would (the leader does not count what a follower forwards).
        var limiter = PartitionedRateLimiter.Create<HttpContext, string>(context => ApiRateLimit.PerClient(context, options));
        app.Lifetime.ApplicationStopped.Register(limiter.Dispose);
        RequestDelegate forward = async context =>
        {
            using var lease = await limiter.AcquireAsync(context, cancellationToken: context.RequestAborted);
            if (!lease.IsAcquired)
            {
                await ApiRateLimit.RefuseAsync(context, lease, options);
                return;
            }

            if (election.Observed is not { } leader || !leader.Reachable(options.LeaderRenewal) || leader.Holder == identity.Id)
            {
                context.Response.Headers.RetryAfter = "1";
                await Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "No leader",
                    detail: "This aggregator follows, and no leader is reachable now (an election is under way, or the store cannot be read); retry shortly.").ExecuteAsync(context);
                return;
            }

            var error = await context.RequestServices.GetRequiredService<IHttpForwarder>().SendAsync(context, leader.ApiUrl, forwarding, forwardConfig, transformer);
            if (error != ForwarderError.None && !context.Response.HasStarted)
            {
                context.Response.Headers.RetryAfter = "1";
                await Results.Problem(statusCode: StatusCodes.Status502BadGateway, title: "Leader unreachable",
                    detail: $"The leader's API ({leader.ApiUrl}) could not be reached ({error}); retry shortly.").ExecuteAsync(context);
            }
        };
        // Everything under /v1 that no endpoint here takes (the gateway's routes, GET /v1/leader) goes to the leader's
        // API; so does the one management route the gateway's service pattern also matches (ServicesApi's decisions),
        // which the leader's API takes before its gateway, as here.
        app.MapGet(ServicesApi.DecisionsPath, forward);
        app.Use(async (context, next) =>
        {
            if (context.GetEndpoint() is null && context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal))
            {
                await forward(context);
                return;
            }

            await next(context);
        });
        return app;
    }

    /// <summary>Forwards a request as it came, marked with the aggregators' forwarding secret (whatever the client sent in that header is replaced).</summary>
    private sealed class ForwardedByTransformer(string secret) : HttpTransformer
    {
        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
            proxyRequest.Headers.Remove(ApiRateLimit.ForwardedByHeader);
            proxyRequest.Headers.TryAddWithoutValidation(ApiRateLimit.ForwardedByHeader, secret);
        }
    }
}
