using Drover.Agent.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;

namespace Drover.Agent.Tests;

public sealed class AgentHostTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly string _directory = Directory.CreateTempSubdirectory("drover-agenthost-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Run_ABackgroundLoopThrows_ProcessExitCodeIs70()
    {
        var options = new AgentOptions
        {
            ServerNumber = 1,
            Port = 0,
            ShimListenAddress = "127.0.0.1",
            StateDirectory = _directory,
            LocalSocketPath = Path.Combine(_directory, "agent.sock"),
            LogFile = "",
            NvmlLibraryPath = NoNvml.LibraryPath,
            // Nothing listens there: the link keeps retrying while the broken loop stops the host.
            Aggregators = ["http://127.0.0.1:9"],
        };
        using var logger = new LoggerConfiguration().CreateLogger();
        var builder = AgentHost.CreateBuilder(options, "test-node", logger);
        builder.Services.AddHostedService<BrokenLoop>();
        using var host = builder.Build();

        var code = await HostExit.RunAsync(host, logger).WaitAsync(Bound);

        Assert.Equal(ExitCodes.Software, code);
    }

    private sealed class BrokenLoop : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await Task.Yield();
            throw new InvalidOperationException("a loop that must not die died");
        }
    }
}
