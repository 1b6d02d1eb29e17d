using Drover.Aggregator.Configuration;
using Drover.Aggregator.Tests.State;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;

namespace Drover.Aggregator.Tests;

public sealed class AggregatorHostTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task RunAsync_ABackgroundLoopThrows_ProcessExitCodeIs70()
    {
        using var data = new TempDirectory();
        var options = new AggregatorOptions
        {
            ListenAddress = "127.0.0.1",
            HttpPort = Ports.Free(),
            LinkPort = Ports.Free(),
            DataDirectory = data.Path,
            LogFile = "",
            Insecure = true,
            ApiTokensFile = "", // none: this test makes no API request
        };
        using var logger = new LoggerConfiguration().CreateLogger();
        await using var app = AggregatorHost.Build(options, logger, testServices: services => services.AddHostedService<BrokenLoop>());

        // The loop's failure stops the host by itself; without HostExit the run would end with 0.
        var code = await AggregatorHost.RunAsync(app, logger).WaitAsync(Bound);

        Assert.Equal(ExitCodes.Software, code);
    }

    /// <summary>
    /// Dies once the host has started: thrown at once, it raced Kestrel's bind, and when it won, the
    /// stop it caused cancelled the bind and StartAsync threw instead of the run returning 70.
    /// </summary>
    private sealed class BrokenLoop(IHostApplicationLifetime lifetime) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            {
                await started.Task.WaitAsync(stoppingToken);
            }

            throw new InvalidOperationException("a loop that must not die died");
        }
    }
}
