using Drover.Agent.Configuration;
using Drover.Agent.Events;
using Drover.Agent.Footprint;
using Drover.Agent.Heartbeats;
using Drover.Agent.Identity;
using Drover.Agent.Instances;
using Drover.Agent.Link;
using Drover.Agent.LocalSocket;
using Drover.Agent.Metrics;
using Drover.Agent.Shims;
using Drover.Agent.Telemetry;
using Drover.Nvml;
using Drover.Protocol.Events;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting.Systemd;
using Serilog;

namespace Drover.Agent;

/// <summary>Builds and runs drover-agent: configuration, identity, logging, systemd integration, services.</summary>
internal static class AgentHost
{
    public static async Task<int> RunAsync(string[] args)
    {
        AgentOptions options;
        string nodeId;
        AgentLinkTls? tls;
        try
        {
            options = AgentOptionsLoader.Load(AgentOptionsLoader.BuildConfiguration(args));
            if (!string.IsNullOrEmpty(options.LogFile))
            {
                ConfigurationSources.EnsureDirectory("logFile", Path.GetDirectoryName(Path.GetFullPath(options.LogFile))!);
            }

            tls = AgentLinkTls.Load(options);
            if (options.MetricsEnabled)
            {
                ShimServer.ReadScrapeToken(options.MetricsTokenFile);
            }

            nodeId = NodeIdStore.LoadOrCreate(options.StateDirectory, tls?.Node);
        }
        catch (ConfigurationException ex)
        {
            await Console.Error.WriteLineAsync($"drover-agent: configuration error: {ex.Message}");
            return ExitCodes.Configuration;
        }

        // The shim logs its own failed forwards, naming the instance; YARP's would repeat them.
        await using var logger = ProgramLogger.Create(options.LogLevel, options.LogFile, "System.Net.Http", "Yarp");
        logger.Information(
            "drover-agent {Version} starting as node {NodeId} (cluster {Cluster}, server number {ServerNumber}, port {Port}).",
            NodeHello.AgentVersion, nodeId, options.Cluster, options.ServerNumber, options.Port);
        if (tls is null)
        {
            logger.Warning("The link to the aggregator is plain text (insecure: true): anyone on the path can pose as the aggregator and run processes here. Configure linkCertificateFile, linkKeyFile and linkCaFile for mutual TLS.");
        }

        var builder = CreateBuilder(options, nodeId, logger, tls: tls);
        builder.Services.AddSystemd();
        using var host = builder.Build();
        try
        {
            return await HostExit.RunAsync(host, logger);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // What the host could not set up from its configuration (the local socket's path in use or
            // not writable, the shim's port in use): one line and EX_CONFIG, so systemd does not restart into the same wall.
            logger.Fatal("drover-agent cannot start: {Reason}", ex.Message);
            await Console.Error.WriteLineAsync($"drover-agent: cannot start: {ex.Message}");
            return ExitCodes.Configuration;
        }
    }

    /// <summary>
    /// The agent's host builder with every service registered. A seam for tests: they add their own
    /// systemd notifier and lifetime, since AddSystemd only activates under systemd.
    /// </summary>
    public static HostApplicationBuilder CreateBuilder(AgentOptions options, string nodeId, Serilog.ILogger logger, TimeProvider? time = null, AgentLinkTls? tls = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
        builder.Services.AddSerilog(logger, dispose: false);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(10));
        builder.Services.AddSingleton(options);
        builder.Services.TryAddSingleton(time ?? TimeProvider.System);
        builder.Services.TryAddSingleton(Random.Shared);
        builder.Services.AddSingleton(new NodeHello(nodeId, options));
        builder.Services.AddSingleton(sp => new NodeState(sp.GetRequiredService<TimeProvider>(), options.ServerNumber, options.Port, options.HeartbeatInterval));
        builder.Services.AddSingleton(sp => new WatchedLoops(
            sp.GetRequiredService<TimeProvider>(),
            () => sp.GetRequiredService<NodeState>().HeartbeatInterval,
            options.TelemetryInterval));
        builder.Services.AddSingleton(sp => new SystemdWatchdog(
            sp.GetService<ISystemdNotifier>(),
            SystemdWatchdog.TimeoutFromEnvironment(Environment.GetEnvironmentVariable),
            sp.GetRequiredService<WatchedLoops>().All,
            sp.GetRequiredService<ILogger<SystemdWatchdog>>()));
        builder.Services.TryAddSingleton(_ => NvmlFactory.Create(new NvmlOptions
        {
            LibraryPath = string.IsNullOrEmpty(options.NvmlLibraryPath) ? null : options.NvmlLibraryPath,
        }));
        builder.Services.AddSingleton(sp => new GpuHealthBoard(sp.GetRequiredService<TimeProvider>(), TimeSpan.FromSeconds(options.XidHoldSeconds)));
        builder.Services.AddSingleton<ReportedGpuWork>();
        builder.Services.AddSingleton(sp => new MeasuredGpuWork(
            options,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<MeasuredGpuWork>>(),
            () => sp.GetRequiredService<InstanceManager>().All
                .Where(i => i.Spec.GpuProbe)
                .Select(i => new ProbedInstance(i.InstanceId, i.Runtime.Uid, i.Spec.GpuUuids))));
        builder.Services.AddSingleton<IGpuWorkSink>(sp => sp.GetRequiredService<ReportedGpuWork>());
        builder.Services.AddSingleton<GpuTelemetry>();
        builder.Services.AddSingleton<SamplingCost>();
        builder.Services.AddSingleton<AgentMetrics>();
        builder.Services.AddSingleton<AgentOutbox>();
        builder.Services.AddSingleton<StatusEventPublisher>();
        builder.Services.AddSingleton<IStatusEventSink>(sp => sp.GetRequiredService<StatusEventPublisher>());
        builder.Services.AddSingleton<EventRelay>();
        builder.Services.AddSingleton<IEventSubscriptions>(sp => sp.GetRequiredService<EventRelay>());
        builder.Services.AddSingleton<InstanceTokens>();
        builder.Services.AddSingleton<IInstanceAuthenticator>(sp => sp.GetRequiredService<InstanceTokens>());
        builder.Services.AddSingleton<RestoreStaging>();
        builder.Services.AddSingleton<InstanceManager>();
        builder.Services.AddSingleton<StateCommitter>();
        builder.Services.AddSingleton<ICommitRequester>(sp => sp.GetRequiredService<StateCommitter>());
        builder.Services.AddShims();
        builder.Services.AddSingleton<LeaderTermMemory>();
        builder.Services.AddSingleton<AggregatorMessageDispatcher>();
        if (tls is not null)
        {
            builder.Services.AddSingleton(tls);
        }

        builder.Services.AddSingleton<AgentLinkClient>();
        builder.Services.AddSingleton(sp => new LocalSocketServer(
            new LocalSocketOptions { Path = options.LocalSocketPath, OpenToEveryone = options.Runtimes.Any(r => r.User.Length > 0) },
            nodeId,
            sp.GetRequiredService<IInstanceAuthenticator>(),
            sp.GetRequiredService<IGpuWorkSink>(),
            sp.GetRequiredService<ICommitRequester>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<LocalSocketServer>>(),
            sp.GetRequiredService<IEventSubscriptions>(),
            instanceId => sp.GetRequiredService<InstanceManager>().Find(instanceId)?.Spec is { } spec ? EventChannels.Of(spec) : null,
            instanceId => GivenGpus(sp.GetRequiredService<InstanceManager>().Find(instanceId)?.Spec, sp.GetRequiredService<GpuTelemetry>())));

        // Start order matters: the local socket listens before instances are adopted or started,
        // and instances are found again before the link reports them to the aggregator.
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LocalSocketServer>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<InstanceManager>());
        builder.Services.AddShimHostedServices();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AggregatorMessageDispatcher>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AgentLinkClient>());
        builder.Services.AddHostedService<HeartbeatService>();
        builder.Services.AddHostedService<TelemetryService>();
        builder.Services.AddHostedService<XidEventLoop>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<StateCommitter>());
        builder.Services.AddHostedService<OutputLogRotator>();
        builder.Services.AddHostedService<StartupMemoryRelease>();
        return builder;
    }

    /// <summary>
    /// The GPUs an instance may report work for: those its spec names, else every GPU of the node (an
    /// instance started without a GPU may use any of them); none for an instance this agent does not run.
    /// </summary>
    private static IReadOnlyCollection<string> GivenGpus(Protocol.V1.InstanceSpec? spec, GpuTelemetry telemetry)
        => spec is null ? []
            : spec.GpuUuids.Count > 0 ? spec.GpuUuids.ToHashSet(StringComparer.Ordinal)
            : telemetry.Inventory().Select(g => g.Uuid).ToHashSet(StringComparer.Ordinal);
}
