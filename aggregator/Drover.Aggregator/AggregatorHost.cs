using System.Net;
using Drover.Aggregator.Access;
using Drover.Aggregator.Api;
using Drover.Aggregator.Balancers;
using Drover.Aggregator.Clusters;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.Dashboard;
using Drover.Aggregator.Events;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Leadership;
using Drover.Aggregator.Link;
using Drover.Aggregator.Metrics;
using Drover.Aggregator.Placement;
using Drover.Aggregator.Security;
using OpenTelemetry.Metrics;
using Drover.Aggregator.Services;
using Drover.Aggregator.State;
using Drover.Aggregator.Workloads;
using Drover.Protocol.Security;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Serilog;

namespace Drover.Aggregator;

/// <summary>Builds and runs drover-aggregator: configuration, logging, Kestrel listeners, services, endpoints.</summary>
internal static class AggregatorHost
{
    /// <summary>Where Prometheus scrapes the aggregator, on its HTTP port.</summary>
    public const string MetricsPath = "/metrics";

    public static async Task<int> RunAsync(string[] args)
    {
        AggregatorOptions options;
        try
        {
            options = AggregatorOptionsLoader.Load(AggregatorOptionsLoader.BuildConfiguration(args));
            EnsureDirectories(options);

            // A tokens file that is there but bad stops the start with the key, like any bad value.
            _ = ApiTokenFile.Read(options.ApiTokensFile);

            // So does a PostgreSQL connection string file that is missing, readable by others or not a connection string.
            if (StateStores.Parse(options.Store) == StateStores.Postgres)
            {
                _ = StateStores.ReadPostgresConnectionString(options);
            }
        }
        catch (ConfigurationException ex)
        {
            await Console.Error.WriteLineAsync($"drover-aggregator: configuration error: {ex.Message}");
            return ExitCodes.Configuration;
        }

        // The gateway logs its own refusals and failed forwards, naming the node; YARP's two lines per request
        // (and the HTTP client's) would repeat them, thousands a second under load.
        await using var logger = ProgramLogger.Create(options.LogLevel, options.LogFile, "System.Net.Http", "Yarp");
        try
        {
            if (StateStores.Parse(options.Store) == StateStores.Postgres)
            {
                // One of several on the database: follow, and lead once elected.
                return await HighAvailability.RunAsync(options, logger);
            }

            await using var app = Build(options, logger);
            return await RunAsync(app, logger);
        }
        catch (ConfigurationException ex)
        {
            // A certificate named in the configuration that cannot be loaded.
            logger.Fatal("drover-aggregator: configuration error: {Reason}", ex.Message);
            await Console.Error.WriteLineAsync($"drover-aggregator: configuration error: {ex.Message}");
            return ExitCodes.Configuration;
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or InvalidDataException or Microsoft.Data.Sqlite.SqliteException or Npgsql.NpgsqlException)
        {
            // A port already in use, an unreadable functions.json or state.db, a PostgreSQL store that cannot be
            // reached or refuses the credentials: say which, and stop.
            logger.Fatal(ex, "drover-aggregator could not start: {Reason}", ex.Message);
            return 1;
        }
    }

    /// <summary>Runs a built application until it stops; a loop that died makes the exit code non-zero (<see cref="HostExit"/>).</summary>
    public static Task<int> RunAsync(WebApplication app, Serilog.ILogger logger) => HostExit.RunAsync(app, logger);

    /// <summary>
    /// Builds the web application. Tests call this with their own options and logger, and may add
    /// services of their own (a seam: a loop that throws, to prove the exit code).
    /// </summary>
    /// <remarks>
    /// <c>leader</c>: the leadership won by an election among several aggregators (<see cref="HighAvailability"/>);
    /// null: the aggregator leads alone (<see cref="LeaderStart.Alone"/>).
    /// </remarks>
    public static WebApplication Build(AggregatorOptions options, Serilog.ILogger logger, TimeProvider? time = null, Action<IServiceCollection>? testServices = null, LeaderStart? leader = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Services.AddSerilog(logger, dispose: false);

        ConfigureListeners(builder, options, logger, time, shared: leader is not null);

        builder.Services.AddSystemd();

        // The notifier wherever NOTIFY_SOCKET names one, as sd_notify does, not only when systemd is the parent (AddSystemd's
        // test): a follower that was elected (HighAvailability) runs in the process its follower host made ready.
        builder.Services.TryAddSingleton<Microsoft.Extensions.Hosting.Systemd.ISystemdNotifier, Microsoft.Extensions.Hosting.Systemd.SystemdNotifier>();
        builder.Services.AddSingleton(options);
        builder.Services.AddDroverApiAccess(ApiTokenStore.Load(options.ApiTokensFile));
        builder.Services.AddDroverApiRateLimit(options, context => context.RequestServices.GetRequiredService<LeaderStart>().ForwardingSecret);
        builder.Services.AddSingleton(time ?? TimeProvider.System);
        builder.Services.AddSingleton(AggregatorIdentity.ForThisProcess());
        builder.Services.AddSingleton(sp => leader ?? LeaderStart.Alone(sp.GetRequiredService<IAggregatorStore>(), options, sp.GetRequiredService<AggregatorIdentity>(), sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton(sp => sp.GetRequiredService<LeaderStart>().Leadership);
        builder.Services.AddSingleton(sp => new NodeOverrides(sp.GetRequiredService<IDefinitionStore>()));
        builder.Services.AddDefinitionsAndGateway(options);
        builder.Services.AddSingleton<NodeTable>();
        builder.Services.AddSingleton<AgentConnections>();
        builder.Services.AddSingleton<EventHub>();
        builder.Services.AddSingleton<InstanceTable>();
        builder.Services.AddSingleton<WorkloadStatsTable>();
        builder.Services.AddSingleton<CommandResults>();
        builder.Services.AddSingleton<ServiceRoutesPublisher>();
        builder.Services.AddSingleton<ServiceController>();
        builder.Services.AddSingleton<DecisionLog>();
        builder.Services.AddSingleton<InstanceActuator>();
        builder.Services.AddSingleton<NodePenalties>();
        builder.Services.AddSingleton<ScalingWindows>();
        builder.Services.AddSingleton<InstanceReconciler>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<InstanceReconciler>());

        // WATCHDOG=1 (WatchdogSec in the unit) only while the decision loop completes passes: a hung pass, or a
        // dead loop, gets the aggregator restarted.
        builder.Services.AddSingleton(sp => new SystemdWatchdog(
            sp.GetService<Microsoft.Extensions.Hosting.Systemd.ISystemdNotifier>(),
            SystemdWatchdog.TimeoutFromEnvironment(Environment.GetEnvironmentVariable),
            [sp.GetRequiredService<InstanceReconciler>().Progress],
            sp.GetRequiredService<ILogger<SystemdWatchdog>>()));
        builder.Services.AddHostedService<WatchdogPetter>();
        if (leader?.Store is { } elected)
        {
            // The store the election was won on (its writes fenced from then on); not disposed with the application.
            builder.Services.AddSingleton<IAggregatorStore>(elected);
        }

        builder.Services.AddStateStorage(options.DataDirectory);
        if (StateStores.Parse(options.Store) == StateStores.Postgres)
        {
            // Elected among the aggregators on the database: publish the routing table the followers' gateways serve,
            // and keep the lease (or stop) unless the election's caller keeps it (HighAvailability).
            builder.Services.AddSingleton(sp => (PostgresStateStore)sp.GetRequiredService<IAggregatorStore>());
            builder.Services.AddHostedService<RoutingPublisher>();
            if (leader?.Store is null)
            {
                builder.Services.AddHostedService(sp => new LeaseKeeper(
                    sp.GetRequiredService<PostgresStateStore>(),
                    sp.GetRequiredService<CurrentLeadership>(),
                    options,
                    sp.GetRequiredService<TimeProvider>(),
                    sp.GetRequiredService<ILogger<LeaseKeeper>>(),
                    sp.GetRequiredService<LeaderStart>().LeaseSentAt));
            }
        }

        builder.Services.AddSingleton<LivenessMonitor>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LivenessMonitor>());
        builder.Services.AddSingleton<SurvivalProber>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SurvivalProber>());
        builder.Services.AddHostedService<LostNodePruner>();
        builder.Services.AddSingleton<ClusterRegistry>();
        builder.Services.AddSingleton(sp => new BalancerRegistry(sp.GetRequiredService<IDefinitionStore>()));
        builder.Services.AddSingleton<GatewayWeights>();
        builder.Services.AddSingleton<LoadBalancingCoordinator>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LoadBalancingCoordinator>());
        builder.Services.AddSingleton<ClusterHealthMonitor>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ClusterHealthMonitor>());
        builder.Services.AddGrpc(grpc =>
        {
            // A peer does not choose how much the aggregator buffers: the largest agent message is a
            // snapshot chunk (SnapshotChunks.ChunkBytes of data) with its envelope.
            grpc.MaxReceiveMessageSize = Drover.Protocol.Snapshots.SnapshotChunks.ChunkBytes + (64 * 1024);
        });
        builder.Services.AddGrpcHealthChecks().AddCheck<LivenessMonitorHealthCheck>("liveness-monitor");

        // Prometheus metrics at /metrics (a read token, as every read of the fleet): the aggregator's meter, and
        // the runtime's and ASP.NET Core's own meters (process, GC, thread pool, Kestrel connections).
        builder.Services.AddSingleton<FleetMetrics>();
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(AggregatorMeter.Name, "System.Runtime", "Microsoft.AspNetCore.Server.Kestrel")
            .AddView("*", new MetricStreamConfiguration { CardinalityLimit = options.MetricsSeriesLimit })
            .AddPrometheusExporter());
        testServices?.Invoke(builder.Services);

        var app = builder.Build();

        // The term begins (or the lease is won) now, before any agent is welcomed; until this leader's own table
        // covers the nodes of the last one published, its gateway serves that one (ClusterHealthMonitor).
        if (app.Services.GetRequiredService<LeaderStart>().Inherited is { } inherited)
        {
            app.Services.GetRequiredService<Drover.Gateway.GatewayRoutingTable>().Update(inherited);
        }

        // Deposed (the lease lost, a newer term seen): every agent stream is let go at once, for the agents to find the
        // leader; no command leaves meanwhile (AgentLinkService).
        var connections = app.Services.GetRequiredService<AgentConnections>();
        app.Services.GetRequiredService<CurrentLeadership>().Deposed.ContinueWith(
            _ =>
            {
                foreach (var connection in connections.Snapshot())
                {
                    connection.Abort("this aggregator is no longer the leader");
                }
            },
            TaskScheduler.Default);

        UsePortSeparation(app, options);
        app.UseStoreFailures();
        // The rate limit comes first, so that requests refused for their token count against it too.
        app.UseRateLimiter();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGrpcService<AgentLinkService>();
        app.MapGrpcHealthChecksService();

        // The management API: every endpoint under one policy (a read token may GET, writes need an
        // admin token), decided after the route is matched and before any handler looks a resource up,
        // so a refusal says nothing about what exists. Any other /v1 path that is not the gateway's
        // falls back to a 404 behind the same policy, so the routes cannot be probed without a token either.
        var management = app.MapGroup("").RequireAuthorization(ApiAccessServiceCollectionExtensions.Policy).RequireRateLimiting(ApiRateLimit.Policy);
        management.MapNodesApi();
        management.MapFunctionsApi();
        management.MapServicesApi();
        management.MapEventsApi();
        management.MapClustersApi();
        management.MapKeysApi();
        management.MapBalancingApi();
        var leadership = app.Services.GetRequiredService<CurrentLeadership>();
        var storeName = app.Services.GetRequiredService<IAggregatorStore>().Description;
        management.MapLeaderApi(() => LeaderApi.Of(leadership, storeName));
        management.MapPrometheusScrapingEndpoint(MetricsPath);
        app.Services.GetRequiredService<FleetMetrics>();
        management.MapFallback("/v1/{**path}", () => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: "No management API endpoint has this path and method."));

        // The dashboard's page and modules: no token (they hold no data), no rate limit; the page reads the fleet
        // through the endpoints above with the token it is given.
        app.MapDashboard();
        ApiAccessLog.AtStart(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ApiTokenStore)), options, app.Services.GetRequiredService<ApiTokenStore>());
        if (options.GatewayEnabled)
        {
            app.MapDroverGateway();
        }

        // A lost node's instances resume elsewhere at once, not at the next period.
        var reconciler = app.Services.GetRequiredService<InstanceReconciler>();
        app.Services.GetRequiredService<LivenessMonitor>().NodeLost += reconciler.Wake;

        // A key made or removed reaches the nodes' shims in their instances' specs at once.
        app.Services.GetRequiredService<InvocationKeyStore>().Changed += reconciler.Wake;

        // A node that connects, disconnects, is lost or misses a probe is counted at once; a cluster
        // that changes health moves its tasks at once.
        var health = app.Services.GetRequiredService<ClusterHealthMonitor>();
        app.Services.GetRequiredService<NodeTable>().Changed += health.Wake;
        app.Services.GetRequiredService<ClusterRegistry>().Changed += health.Wake;
        app.Services.GetRequiredService<InstanceTable>().ReadinessChanged += health.Wake;
        health.Transitioned += reconciler.Wake;

        // A coordinated table's weights reach the gateway at once; a registration changed is read at once.
        app.Services.GetRequiredService<GatewayWeights>().Changed += health.Wake;
        app.Services.GetRequiredService<BalancerRegistry>().Changed += app.Services.GetRequiredService<LoadBalancingCoordinator>().Wake;

        // A rollout waiting for the nodes' acknowledgements goes on as soon as the last one arrives.
        app.Services.GetRequiredService<ServiceRoutesPublisher>().Acknowledged += reconciler.Wake;
        return app;
    }

    /// <summary>
    /// The HTTP port and the link port, with their limits and certificates: the leading application's and a follower's
    /// (<see cref="Leadership.FollowerHost"/>) alike. <paramref name="shared"/>: bound so that two applications of this
    /// process may listen on them at once, while one hands over to the other.
    /// </summary>
    internal static void ConfigureListeners(WebApplicationBuilder builder, AggregatorOptions options, Serilog.ILogger logger, TimeProvider? time, bool shared)
    {
        var address = IPAddress.Parse(options.ListenAddress);
        var tls = LinkTls.Load(options);
        var apiCertificate = LoadApiCertificate(options);
        if (tls is null)
        {
            logger.Warning("The agent link on port {LinkPort} is plain text (insecure: true): anyone who reaches it can claim to be any node and receive its instances and state. Configure linkCertificateFile, linkKeyFile and linkCaFile (drover-aggregator certs init) for mutual TLS.", options.LinkPort);
        }

        if (shared)
        {
            // Several aggregators on PostgreSQL: a follower's listeners are still open while the leader it becomes
            // opens its own (SharedListenSocket), so its gateway never stops answering.
            builder.WebHost.UseSockets(sockets => sockets.CreateBoundListenSocket = SharedListenSocket.Bind);
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Chosen on purpose, so that no peer holds a connection, or the aggregator's writes, for
            // longer than a stated bound (README, configuration of drover-aggregator):
            // - a half-open link connection (a host gone without a FIN) is pinged after
            //   linkKeepAlivePingDelayMs of silence and closed when the ping goes unanswered for
            //   linkKeepAlivePingTimeoutMs. Agents heartbeat every second, so a live one is never pinged.
            kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromMilliseconds(options.LinkKeepAlivePingDelayMs);
            kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromMilliseconds(options.LinkKeepAlivePingTimeoutMs);

            // - a body (an API request, a gateway request) that arrives slower than 240 bytes/s after a
            //   5 s grace is cut off, and so is a response the peer takes slower than that. gRPC lifts
            //   the body rate for the link's bidirectional streams, whose agents send only a heartbeat a
            //   second when idle; a link stream whose agent stops reading is bounded by linkSendTimeoutMs
            //   instead (its outbox stays full and the stream is aborted), and a silent one by the pings.
            kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));
            kestrel.Limits.MinResponseDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));

            // - a request line and headers that do not arrive whole within requestHeadersTimeoutMs of
            //   their first byte are answered 408 and the connection closed. The body rate above starts
            //   only with a body: without this, Kestrel's default (30 s) would let a client that trickles
            //   a byte of headers now and then (Slowloris) hold one of the HTTP port's httpMaxConnections
            //   for that long, and as many such clients hold the API and the gateway shut. Kestrel names
            //   the cause only at Debug (ConnectionBadRequest, "Reading the request headers timed out."),
            //   in a Microsoft category, which the aggregator logs from Warning: a client cut this way is
            //   not logged; its 408 is its answer.
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromMilliseconds(options.RequestHeadersTimeoutMs);

            // - each port holds at most its own number of connections (Kestrel's MaxConcurrentConnections
            //   is one number for both, so each listener counts its own).
            kestrel.Listen(IPAddress.Parse(options.ApiAddress), options.HttpPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                listen.Use(next => LimitFor(listen, "HTTP", options.HttpMaxConnections).Wrap(next));
                if (apiCertificate is not null)
                {
                    listen.UseHttps(apiCertificate);
                }
            });
            kestrel.Listen(address, options.LinkPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                listen.Use(next => LimitFor(listen, "link", options.LinkMaxConnections).Wrap(next));
                if (tls is not null)
                {
                    // Mutual TLS: a client certificate is required and must chain to linkCaFile; its
                    // common name is the node, which the Hello must name (AgentLinkService).
                    listen.UseHttps(https =>
                    {
                        https.ServerCertificate = tls.Certificate;
                        https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                        https.ClientCertificateValidation = (certificate, _, _) =>
                        {
                            var refused = LinkCertificates.Verify(certificate, tls.Ca, LinkCertificates.ClientAuth, (time ?? TimeProvider.System).GetUtcNow());
                            if (refused is not null)
                            {
                                logger.Warning("Link TLS: a client certificate was refused: {Reason}", refused);
                            }

                            return refused is null;
                        };
                    });
                }
            });
        });
    }

    /// <summary>
    /// The agent link and the HTTP API (with the dashboard) each answer only on their own port, judged by the port the
    /// connection arrived on (a Host header is the client's to choose).
    /// </summary>
    internal static void UsePortSeparation(WebApplication app, AggregatorOptions options) => app.Use(async (context, next) =>
    {
        var onLink = context.Connection.LocalPort == options.LinkPort;
        var forApi = context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal) || context.Request.Path.StartsWithSegments(MetricsPath, StringComparison.Ordinal)
            || DashboardEndpoints.Serves(context.Request.Path);
        if (onLink == forApi)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        await next(context);
    });

    private static void EnsureDirectories(AggregatorOptions options)
    {
        ConfigurationSources.EnsureDirectory("dataDirectory", options.DataDirectory);
        if (!string.IsNullOrEmpty(options.LogFile))
        {
            ConfigurationSources.EnsureDirectory("logFile", Path.GetDirectoryName(Path.GetFullPath(options.LogFile))!);
        }
    }

    /// <summary>The HTTP port's certificate when one is configured (HTTPS), else null; <see cref="ConfigurationException"/> naming the keys when it cannot be loaded.</summary>
    private static System.Security.Cryptography.X509Certificates.X509Certificate2? LoadApiCertificate(AggregatorOptions options)
    {
        if (options.ApiCertificateFile.Length == 0)
        {
            return null;
        }

        try
        {
            return LinkCertificates.LoadWithKey(options.ApiCertificateFile, options.ApiKeyFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new ConfigurationException($"apiCertificateFile = '{options.ApiCertificateFile}', apiKeyFile = '{options.ApiKeyFile}': cannot be loaded ({ex.Message}); expected a PEM certificate and its PEM private key");
        }
    }

    private static ConnectionLimit LimitFor(ListenOptions listen, string name, int max)
        => new(name, max, listen.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger<ConnectionLimit>());
}
