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
    public async Task Petter_LoopMakesProgress_KeepAlivesGoOut_LoopStuck_TheyStop_LoopBack_TheyResume()
    {
        var time = new FakeTimeProvider();
        var notifier = new RecordingNotifier();
        var logger = new CapturingLogger<SystemdWatchdog>();
        var loop = new LoopProgress("placement", () => TimeSpan.FromSeconds(1), time);
        var watchdog = new SystemdWatchdog(notifier, Timeout, [loop], logger);
        using var petter = new WatchdogPetter(watchdog, time);
        await petter.StartAsync(CancellationToken.None);

        // The first pet goes out at start, after the petter's timer is made; then one per third of the timeout while
        // the loop completes passes.
        await notifier.WaitForKeepAlivesAsync(1);
        for (var pet = 2; pet <= 4; pet++)
        {
            loop.Completed();
            time.Advance(Timeout / 3);
            await notifier.WaitForKeepAlivesAsync(pet);
        }

        // The loop stops: once it is late by more than the timeout plus its period, the pet is withheld and logged, and
        // none goes out while it stays stuck (pets are sequential, and the loop's lateness only grows).
        time.Advance(Timeout + TimeSpan.FromSeconds(2));
        await logger.WaitForEventAsync(2202);
        var withheld = notifier.KeepAlives;
        for (var tick = 0; tick < 6; tick++)
        {
            time.Advance(Timeout / 3);
        }

        Assert.Same(loop, watchdog.FindStuckLoop());
        Assert.Equal(withheld, notifier.KeepAlives);

        // The loop completes a pass again: the next pet goes out, and the resumption is logged.
        loop.Completed();
        time.Advance(Timeout / 3);
        await notifier.WaitForKeepAlivesAsync(withheld + 1);
        await logger.WaitForEventAsync(2203);
        await petter.StopAsync(CancellationToken.None);
        Assert.Equal([2202, 2203], logger.Entries.Select(e => e.EventId));
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
}
