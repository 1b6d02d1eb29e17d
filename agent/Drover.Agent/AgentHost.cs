using Drover.Agent.Configuration;
using Drover.Agent.Events;
using Drover.Agent.Heartbeats;
using Drover.Agent.Identity;
using Drover.Agent.Instances;
using Drover.Agent.Link;
using Drover.Agent.LocalSocket;
using Drover.Agent.Shims;
using Drover.Agent.Telemetry;
using Drover.Nvml;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting.Systemd;
using Serilog;
using Serilog.Events;

namespace Drover.Agent;

/// <summary>Builds and runs drover-agent: configuration, identity, logging, systemd integration, services.</summary>
internal static class AgentHost
{
    /// <summary>EX_CONFIG from sysexits.h: the unit file does not restart on it.</summary>
    public const int ExitConfigurationError = 78;

    public static async Task<int> RunAsync(string[] args)
    {
        AgentOptions options;
        string nodeId;
        try
        {
            options = AgentOptionsLoader.Load(AgentOptionsLoader.BuildConfiguration(args));
            EnsureLogDirectory(options);
            nodeId = NodeIdStore.LoadOrCreate(options.StateDirectory);
        }
        catch (ConfigurationException ex)
        {
            await Console.Error.WriteLineAsync($"drover-agent: configuration error: {ex.Message}");
            return ExitConfigurationError;
        }

        await using var logger = CreateLogger(options);
        logger.Information(
            "drover-agent {Version} starting as node {NodeId} (cluster {Cluster}, server number {ServerNumber}, port {Port}).",
            NodeHello.AgentVersion, nodeId, options.Cluster, options.ServerNumber, options.Port);
        var builder = CreateBuilder(options, nodeId, logger);
        builder.Services.AddSystemd();
        using var host = builder.Build();
        try
        {
            await host.StartAsync();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // What the host could not set up from its configuration (the local socket's path in use or
            // not writable, the shim's port in use): one line and EX_CONFIG, so systemd does not restart into the same wall.
            logger.Fatal("drover-agent cannot start: {Reason}", ex.Message);
            await Console.Error.WriteLineAsync($"drover-agent: cannot start: {ex.Message}");
            return ExitConfigurationError;
        }

        await host.WaitForShutdownAsync();
        return 0;
    }

    /// <summary>
    /// The agent's host builder with every service registered. A seam for tests: they add their own
    /// systemd notifier and lifetime, since AddSystemd only activates under systemd.
    /// </summary>
    public static HostApplicationBuilder CreateBuilder(AgentOptions options, string nodeId, Serilog.ILogger logger, TimeProvider? time = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
        builder.Services.AddSerilog(logger, dispose: false);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(10));
        builder.Services.AddSingleton(options);
        builder.Services.TryAddSingleton(time ?? TimeProvider.System);
        builder.Services.TryAddSingleton(Random.Shared);
        builder.Services.AddSingleton(new NodeHello(nodeId, options));
        builder.Services.AddSingleton(sp => new NodeState(sp.GetRequiredService<TimeProvider>(), options.ServerNumber, options.Port, options.HeartbeatInterval));
        builder.Services.AddSingleton(sp => new SystemdWatchdog(
            sp.GetService<ISystemdNotifier>(),
            SystemdWatchdog.TimeoutFromEnvironment(Environment.GetEnvironmentVariable)));
        builder.Services.TryAddSingleton(_ => NvmlFactory.Create(new NvmlOptions
        {
            LibraryPath = string.IsNullOrEmpty(options.NvmlLibraryPath) ? null : options.NvmlLibraryPath,
        }));
        builder.Services.AddSingleton(sp => new GpuHealthBoard(sp.GetRequiredService<TimeProvider>(), TimeSpan.FromSeconds(options.XidHoldSeconds)));
        builder.Services.AddSingleton<ReportedGpuWork>();
        builder.Services.AddSingleton<IGpuWorkSink>(sp => sp.GetRequiredService<ReportedGpuWork>());
        builder.Services.AddSingleton<GpuTelemetry>();
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
        builder.Services.AddSingleton<AggregatorMessageDispatcher>();
        builder.Services.AddSingleton<AgentLinkClient>();
        builder.Services.AddSingleton(sp => new LocalSocketServer(
            new LocalSocketOptions { Path = options.LocalSocketPath },
            nodeId,
            sp.GetRequiredService<IInstanceAuthenticator>(),
            sp.GetRequiredService<IGpuWorkSink>(),
            sp.GetRequiredService<ICommitRequester>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<LocalSocketServer>>(),
            sp.GetRequiredService<IEventSubscriptions>(),
            instanceId => sp.GetRequiredService<InstanceManager>().Find(instanceId)?.Spec is { } spec ? EventChannels.Of(spec) : null));

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
        return builder;
    }

    private static void EnsureLogDirectory(AgentOptions options)
    {
        if (string.IsNullOrEmpty(options.LogFile))
        {
            return;
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(options.LogFile))!;
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"logFile = '{options.LogFile}': its directory cannot be created ({ex.Message}); expected a writable path, or empty for console only");
        }
    }

    private static Serilog.Core.Logger CreateLogger(AgentOptions options)
    {
        var config = new LoggerConfiguration()
            .MinimumLevel.Is(Enum.Parse<LogEventLevel>(options.LogLevel, ignoreCase: true))
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
            .MinimumLevel.Override("Grpc", LogEventLevel.Warning)
            .MinimumLevel.Override("System.Net.Http", LogEventLevel.Warning)
            // The shim logs its own failed forwards, naming the instance; YARP's would repeat them.
            .MinimumLevel.Override("Yarp", LogEventLevel.Warning)
            .Enrich.FromLogContext()
            .WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}", formatProvider: System.Globalization.CultureInfo.InvariantCulture);
        if (!string.IsNullOrEmpty(options.LogFile))
        {
            config.WriteTo.File(
                options.LogFile,
                outputTemplate: "{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} [{Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}",
                formatProvider: System.Globalization.CultureInfo.InvariantCulture,
                fileSizeLimitBytes: 64L * 1024 * 1024,
                rollOnFileSizeLimit: true,
                retainedFileCountLimit: 7,
                rollingInterval: RollingInterval.Infinite);
        }

        return config.CreateLogger();
    }
}
