using System.Net;
using Drover.Aggregator.Api;
using Drover.Aggregator.Clusters;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.Events;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Functions;
using Drover.Aggregator.Link;
using Drover.Aggregator.Placement;
using Drover.Aggregator.Services;
using Drover.Aggregator.State;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Serilog;

namespace Drover.Aggregator;

/// <summary>Builds and runs drover-aggregator: configuration, logging, Kestrel listeners, services, endpoints.</summary>
internal static class AggregatorHost
{
    public static async Task<int> RunAsync(string[] args)
    {
        AggregatorOptions options;
        try
        {
            options = AggregatorOptionsLoader.Load(AggregatorOptionsLoader.BuildConfiguration(args));
            EnsureDirectories(options);
        }
        catch (ConfigurationException ex)
        {
            await Console.Error.WriteLineAsync($"drover-aggregator: configuration error: {ex.Message}");
            return ExitCodes.Configuration;
        }

        await using var logger = ProgramLogger.Create(options.LogLevel, options.LogFile);
        try
        {
            await using var app = Build(options, logger);
            return await RunAsync(app, logger);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or InvalidDataException or Microsoft.Data.Sqlite.SqliteException)
        {
            // A port already in use, an unreadable functions.json or state.db: say which, and stop.
            logger.Fatal(ex, "drover-aggregator could not start: {Reason}", ex.Message);
            return 1;
        }
    }

    /// <summary>Runs a built application until it stops; a loop that died makes the exit code non-zero (<see cref="HostExit"/>).</summary>
    public static async Task<int> RunAsync(WebApplication app, Serilog.ILogger logger)
    {
        await app.StartAsync();
        return await HostExit.AfterShutdownAsync(app, logger);
    }

    /// <summary>
    /// Builds the web application. Tests call this with their own options and logger, and may add
    /// services of their own (a seam: a loop that throws, to prove the exit code).
    /// </summary>
    public static WebApplication Build(AggregatorOptions options, Serilog.ILogger logger, TimeProvider? time = null, Action<IServiceCollection>? testServices = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Services.AddSerilog(logger, dispose: false);

        var address = IPAddress.Parse(options.ListenAddress);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(address, options.HttpPort, listen => listen.Protocols = HttpProtocols.Http1);
            kestrel.Listen(address, options.LinkPort, listen => listen.Protocols = HttpProtocols.Http2);
        });

        builder.Services.AddSystemd();
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(time ?? TimeProvider.System);
        builder.Services.AddSingleton(AggregatorIdentity.ForThisProcess());
        builder.Services.AddSingleton(sp => new NodeOverrides(NodeOverrides.PathIn(sp.GetRequiredService<AggregatorOptions>())));
        builder.Services.AddSingleton<NodeTable>();
        builder.Services.AddSingleton<AgentConnections>();
        builder.Services.AddSingleton<EventHub>();
        builder.Services.AddSingleton<InstanceTable>();
        builder.Services.AddSingleton<WorkloadStatsTable>();
        builder.Services.AddSingleton<FunctionRegistry>();
        builder.Services.AddSingleton<ServiceRegistry>();
        builder.Services.AddSingleton<CommandResults>();
        builder.Services.AddSingleton<ServiceRoutesPublisher>();
        builder.Services.AddSingleton<ServiceController>();
        builder.Services.AddSingleton<DecisionLog>();
        builder.Services.AddSingleton<InstanceActuator>();
        builder.Services.AddSingleton<InstanceReconciler>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<InstanceReconciler>());
        builder.Services.AddStateStorage(options.DataDirectory);
        builder.Services.AddSingleton<LivenessMonitor>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LivenessMonitor>());
        builder.Services.AddSingleton<SurvivalProber>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SurvivalProber>());
        builder.Services.AddHostedService<LostNodePruner>();
        builder.Services.AddDroverGateway(options.Gateway);
        builder.Services.AddSingleton<ClusterRegistry>();
        builder.Services.AddSingleton<ClusterHealthMonitor>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ClusterHealthMonitor>());
        builder.Services.AddGrpc(grpc =>
        {
            // A peer does not choose how much the aggregator buffers: the largest agent message is a
            // snapshot chunk (SnapshotChunks.ChunkBytes of data) with its envelope.
            grpc.MaxReceiveMessageSize = Drover.Protocol.Snapshots.SnapshotChunks.ChunkBytes + (64 * 1024);
        });
        builder.Services.AddGrpcHealthChecks().AddCheck<LivenessMonitorHealthCheck>("liveness-monitor");
        testServices?.Invoke(builder.Services);

        var app = builder.Build();

        // The agent link and the HTTP API each answer only on their own port, judged by the port the
        // connection arrived on (a Host header is the client's to choose).
        app.Use(async (context, next) =>
        {
            var onLink = context.Connection.LocalPort == options.LinkPort;
            var forApi = context.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal);
            if (onLink == forApi)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            await next(context);
        });
        app.MapGrpcService<AgentLinkService>();
        app.MapGrpcHealthChecksService();
        app.MapNodesApi();
        app.MapFunctionsApi();
        app.MapServicesApi();
        app.MapEventsApi();
        app.MapClustersApi();
        if (options.GatewayEnabled)
        {
            app.MapDroverGateway();
        }

        // A lost node's instances resume elsewhere at once, not at the next period.
        var reconciler = app.Services.GetRequiredService<InstanceReconciler>();
        app.Services.GetRequiredService<LivenessMonitor>().NodeLost += reconciler.Wake;

        // A node that connects, disconnects, is lost or misses a probe is counted at once; a cluster
        // that changes health moves its tasks at once.
        var health = app.Services.GetRequiredService<ClusterHealthMonitor>();
        app.Services.GetRequiredService<NodeTable>().Changed += health.Wake;
        app.Services.GetRequiredService<ClusterRegistry>().Changed += health.Wake;
        app.Services.GetRequiredService<InstanceTable>().ReadinessChanged += health.Wake;
        health.Transitioned += reconciler.Wake;

        // A rollout waiting for the nodes' acknowledgements goes on as soon as the last one arrives.
        app.Services.GetRequiredService<ServiceRoutesPublisher>().Acknowledged += reconciler.Wake;
        return app;
    }

    private static void EnsureDirectories(AggregatorOptions options)
    {
        ConfigurationSources.EnsureDirectory("dataDirectory", options.DataDirectory);
        if (!string.IsNullOrEmpty(options.LogFile))
        {
            ConfigurationSources.EnsureDirectory("logFile", Path.GetDirectoryName(Path.GetFullPath(options.LogFile))!);
        }
    }
}
