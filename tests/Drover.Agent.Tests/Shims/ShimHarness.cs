using System.Net;
using Drover.Agent.Configuration;
using Drover.Agent.Events;
using Drover.Agent.Instances;
using Drover.Agent.Shims;
using Drover.Agent.Tests.Instances;
using Drover.Protocol.V1;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;

namespace Drover.Agent.Tests.Shims;

/// <summary>
/// The real agent host (AgentHost.CreateBuilder) with its shim on 127.0.0.1:0, no aggregator, and a
/// recording status-event sink; instances are started through the instance manager as the
/// dispatcher would. Every await is bounded.
/// </summary>
internal sealed class ShimHarness : IAsyncDisposable
{
    public const string NodeId = "node-test";
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    private readonly string _directory;
    private readonly Serilog.Core.Logger _logger;
    private readonly IHost _host;

    private ShimHarness(Serilog.Core.Logger logger, IHost host, RecordingStatusEventSink events, string directory)
    {
        _logger = logger;
        _host = host;
        Events = events;
        _directory = directory;
    }

    public RecordingStatusEventSink Events { get; }

    public InstanceManager Instances => _host.Services.GetRequiredService<InstanceManager>();

    public ShimWorkloads Workloads => _host.Services.GetRequiredService<ShimWorkloads>();

    public ShimStatsService Stats => _host.Services.GetRequiredService<ShimStatsService>();

    public ServiceRouteTables Routes => _host.Services.GetRequiredService<ServiceRouteTables>();

    public IPEndPoint EndPoint => _host.Services.GetRequiredService<ShimServer>().EndPoint!;

    public HttpClient Client { get; } = new() { Timeout = Bound };

    public Uri Url(string path) => new($"http://{EndPoint}{path}");

    /// <summary>The fleet's shim credential the harness's agent holds, as a Welcome would have given it.</summary>
    public const string Credential = "test-shim-credential-0123456789abcdef";

    public static async Task<ShimHarness> StartAsync(int port = 0)
    {
        var directory = Path.Combine(Path.GetTempPath(), $"drover-shim-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        var options = new AgentOptions
        {
            ServerNumber = 1,
            Port = port,
            ShimListenAddress = "127.0.0.1",
            StateDirectory = directory,
            LogFile = "",
            NvmlLibraryPath = NoNvml.LibraryPath,
            LocalSocketPath = Path.Combine(directory, "agent.sock"),
            Aggregators = ["http://127.0.0.1:9"],
            StopInstancesOnExit = true,
            Runtimes = TestRuntimes.Allowlist(),
        };
        var logger = new LoggerConfiguration().CreateLogger();
        var events = new RecordingStatusEventSink();
        var builder = AgentHost.CreateBuilder(options, NodeId, logger);
        builder.Services.AddSingleton<IStatusEventSink>(events);
        var host = builder.Build();

        // What the aggregator's Welcome gives every agent: the fleet's shim credential.
        host.Services.GetRequiredService<ShimCredential>().Set(Credential);
        try
        {
            await host.StartAsync().WaitAsync(Bound);
        }
        catch
        {
            host.Dispose();
            await logger.DisposeAsync();
            Directory.Delete(directory, recursive: true);
            throw;
        }

        return new ShimHarness(logger, host, events, directory);
    }

    /// <summary>Starts an instance as StartInstance would, and waits until the shim finds it ready.</summary>
    public async Task<InstanceSupervisor> StartInstanceAsync(string instanceId, string function, ShimSpec shim, string command, params string[] args)
        => await StartInstanceAsync(instanceId, function, WorkloadKind.Function, shim, command, args);

    public async Task<InstanceSupervisor> StartInstanceAsync(string instanceId, string function, WorkloadKind kind, ShimSpec shim, string command, params string[] args)
    {
        var spec = new InstanceSpec { InstanceId = instanceId, Function = function, Version = "v1", Shim = shim, Kind = kind, Process = new ProcessRuntime { Command = command } };
        spec.Process.Args.Add(args);
        Assert.Null(await Instances.StartAsync(new StartInstance { Spec = spec }).WaitAsync(Bound));
        return Instances.Find(instanceId)!;
    }

    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        using var timeout = new CancellationTokenSource(Bound);
        while (!condition())
        {
            try
            {
                await Task.Delay(20, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"Timed out waiting until {what}.");
            }
        }
    }

    public static Duration Seconds(int seconds) => Duration.FromTimeSpan(TimeSpan.FromSeconds(seconds));

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        try
        {
            await _host.StopAsync().WaitAsync(Bound);
        }
        finally
        {
            _host.Dispose();
            await _logger.DisposeAsync();
            Directory.Delete(_directory, recursive: true);
        }
    }
}
