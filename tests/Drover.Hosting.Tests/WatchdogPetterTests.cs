using Drover.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Hosting.Tests;

/// <summary>The aggregator's keep-alive: sent on a timer while its decision loop completes passes, withheld once it stops.</summary>
public sealed class WatchdogPetterTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Petter_LoopMakesProgress_KeepAlivesGoOut_LoopStuck_TheyStop()
    {
        var time = new FakeTimeProvider();
        var notifier = new RecordingNotifier();
        var loop = new LoopProgress("placement", () => TimeSpan.FromSeconds(1), time);
        var watchdog = new SystemdWatchdog(notifier, Timeout, [loop], NullLogger<SystemdWatchdog>.Instance);
        using var petter = new WatchdogPetter(watchdog, time);
        await petter.StartAsync(CancellationToken.None);

        // Three pets per timeout while the loop completes a pass every second.
        for (var second = 0; second < 20; second++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            loop.Completed();
            await Task.Yield();
        }

        await WaitUntilAsync(() => notifier.KeepAlives >= 2);

        // The loop stops: once it is late by more than the timeout plus its period, nothing more goes out.
        time.Advance(Timeout + TimeSpan.FromSeconds(2));
        await Task.Delay(50);
        var before = notifier.KeepAlives;
        for (var tick = 0; tick < 6; tick++)
        {
            time.Advance(TimeSpan.FromSeconds(10));
            await Task.Delay(20);
        }

        Assert.Equal(before, notifier.KeepAlives);
        Assert.Same(loop, watchdog.FindStuckLoop());
        await petter.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Petter_WatchdogOff_ReturnsAtOnce()
    {
        var time = new FakeTimeProvider();
        var notifier = new RecordingNotifier();
        var watchdog = new SystemdWatchdog(notifier, null, [new LoopProgress("placement", () => TimeSpan.FromSeconds(1), time)], NullLogger<SystemdWatchdog>.Instance);
        using var petter = new WatchdogPetter(watchdog, time);

        await petter.StartAsync(CancellationToken.None);

        await petter.ExecuteTask!.WaitAsync(Patience);
        Assert.Equal(0, notifier.KeepAlives);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold in time");
            await Task.Delay(10);
        }
    }
}
