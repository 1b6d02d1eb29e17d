using Microsoft.Extensions.Hosting;

namespace Drover.Hosting;

/// <summary>
/// Pets a <see cref="SystemdWatchdog"/> three times per watchdog timeout, for a program whose watched loops do not
/// pet it themselves (the aggregator: its decision loop may wait a whole monitor period between passes). The keep-alive
/// still goes out only while those loops make progress. Does nothing when the watchdog is off.
/// </summary>
public sealed class WatchdogPetter(SystemdWatchdog watchdog, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!watchdog.Enabled || watchdog.Timeout is not { } timeout)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromTicks(Math.Max(timeout.Ticks / 3, TimeSpan.FromMilliseconds(100).Ticks)), time);
        try
        {
            do
            {
                watchdog.Pet();
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
