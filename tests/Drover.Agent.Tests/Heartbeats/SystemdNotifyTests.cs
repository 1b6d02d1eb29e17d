using System.Net.Sockets;
using System.Text;
using Drover.Agent.Configuration;
using Drover.Agent.Heartbeats;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Serilog;

namespace Drover.Agent.Tests.Heartbeats;

/// <summary>
/// The agent speaks sd_notify to a NOTIFY_SOCKET datagram listener. Systemd detection skips a process
/// whose parent is not systemd, so the test registers SystemdNotifier and SystemdLifetime itself.
/// NOTIFY_SOCKET is process-wide: this class is in a collection that runs alone.
/// </summary>
[Collection(nameof(ProcessEnvironmentCollection))]
public sealed class SystemdNotifyTests : IDisposable
{
    /// <summary>Every wait's bound: generous, since the host's own shutdown timeout is 10 s and a loaded 2-core machine starts slowly.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"drover-notify-{Guid.NewGuid():N}");

    public SystemdNotifyTests()
    {
        Directory.CreateDirectory(_directory);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Host_StartAndStop_SendsReadyWatchdogAndStopping()
    {
        var socketPath = Path.Combine(_directory, "notify.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        var previous = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        Environment.SetEnvironmentVariable("NOTIFY_SOCKET", socketPath);
        try
        {
            var options = new AgentOptions
            {
                ServerNumber = 1,
                StateDirectory = _directory,
                LogFile = "",
                NvmlLibraryPath = NoNvml.LibraryPath,
                HeartbeatIntervalMs = 100,
                // Nothing listens there: the agent keeps retrying, and must still notify systemd.
                Aggregators = ["http://127.0.0.1:9"],
            };
            using var logger = new LoggerConfiguration().CreateLogger();
            var builder = AgentHost.CreateBuilder(options, "test-node", logger);
            builder.Services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
            builder.Services.AddSingleton<IHostLifetime, SystemdLifetime>();
            builder.Services.AddSingleton(sp => new SystemdWatchdog(
                sp.GetService<ISystemdNotifier>(),
                TimeSpan.FromSeconds(1),
                sp.GetRequiredService<WatchedLoops>().All,
                sp.GetRequiredService<ILogger<SystemdWatchdog>>()));
            using var host = builder.Build();

            await host.StartAsync().WaitAsync(Bound);
            var afterStart = await ReceiveUntilAsync(listener, "WATCHDOG=1", "READY=1");
            await host.StopAsync().WaitAsync(Bound);
            var afterStop = await ReceiveUntilAsync(listener, "STOPPING=1");

            Assert.Contains("READY=1", afterStart);
            Assert.Contains("WATCHDOG=1", afterStart);
            Assert.Contains("STOPPING=1", afterStop);
        }
        finally
        {
            Environment.SetEnvironmentVariable("NOTIFY_SOCKET", previous);
        }
    }

    private static async Task<List<string>> ReceiveUntilAsync(Socket listener, params string[] wanted)
    {
        var seen = new List<string>();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(Bound);
        while (!wanted.All(w => seen.Any(s => s.Contains(w, StringComparison.Ordinal))))
        {
            var count = await listener.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            seen.Add(Encoding.UTF8.GetString(buffer, 0, count));
        }

        return seen;
    }
}

[CollectionDefinition(nameof(ProcessEnvironmentCollection), DisableParallelization = true)]
public sealed class ProcessEnvironmentCollection;
