using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;

namespace Drover.Hosting.Tests;

public sealed class HostExitTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task CodeAfterStop_ALoopThrew_HostStopsAndCodeIs70()
    {
        using var host = Build(services => services.AddHostedService<ThrowingLoop>());

        await host.StartAsync().WaitAsync(Bound);
        await host.WaitForShutdownAsync().WaitAsync(Bound); // the failed loop stops the host by itself

        var failed = Assert.Single(HostExit.FailedServices(host.Services));
        Assert.Equal(nameof(ThrowingLoop), failed.Service);
        Assert.Equal("the loop broke", failed.Error.Message);
        Assert.Equal(ExitCodes.Software, HostExit.CodeAfterStop(host.Services, Logger()));
    }

    [Fact]
    public async Task RunAsync_ALoopThrowsWhileTheHostStillStarts_CodeIs70NotACancellation()
    {
        // The later service's start (Kestrel's bind, in the aggregator) is cancelled by the stop the failed loop asks for.
        using var host = Build(services =>
        {
            services.AddHostedService<ThrowingLoop>();
            services.AddHostedService<StartsUntilStopped>();
        });

        var code = await HostExit.RunAsync(host, Logger()).WaitAsync(Bound);

        Assert.Equal(ExitCodes.Software, code);
    }

    [Fact]
    public async Task CodeAfterStop_LoopsEndOnCancellation_CodeIs0()
    {
        using var host = Build(services => services.AddHostedService<WaitingLoop>());

        await host.StartAsync().WaitAsync(Bound);
        await host.StopAsync().WaitAsync(Bound);

        Assert.Empty(HostExit.FailedServices(host.Services));
        Assert.Equal(ExitCodes.Success, HostExit.CodeAfterStop(host.Services, Logger()));
    }

    private static IHost Build(Action<IServiceCollection> configure)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        configure(builder.Services);
        return builder.Build();
    }

    private static Serilog.Core.Logger Logger() => new LoggerConfiguration().CreateLogger();

    private sealed class ThrowingLoop : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await Task.Yield();
            throw new InvalidOperationException("the loop broke");
        }
    }

    private sealed class StartsUntilStopped : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class WaitingLoop : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Delay(Timeout.Infinite, stoppingToken);
    }
}
