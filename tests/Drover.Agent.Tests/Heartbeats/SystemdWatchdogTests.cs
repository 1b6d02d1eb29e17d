using System.Globalization;
using Drover.Agent.Heartbeats;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Agent.Tests.Heartbeats;

public sealed class SystemdWatchdogTests
{
    private static TimeSpan? FromEnvironment(string? usec, string? pid)
        => SystemdWatchdog.TimeoutFromEnvironment(name => name switch
        {
            "WATCHDOG_USEC" => usec,
            "WATCHDOG_PID" => pid,
            _ => null,
        });

    [Fact]
    public void TimeoutFromEnvironment_UsecSet_IsTheTimeout()
        => Assert.Equal(TimeSpan.FromSeconds(10), FromEnvironment("10000000", null));

    [Fact]
    public void TimeoutFromEnvironment_PidIsThisProcess_IsTheTimeout()
        => Assert.Equal(TimeSpan.FromSeconds(4), FromEnvironment("4000000", Environment.ProcessId.ToString(CultureInfo.InvariantCulture)));

    [Theory]
    [InlineData(null, null)]
    [InlineData("", null)]
    [InlineData("0", null)]
    [InlineData("-5", null)]
    [InlineData("ten", null)]
    [InlineData("10000000", "1")]
    public void TimeoutFromEnvironment_UnsetBadOrOtherProcess_IsOff(string? usec, string? pid)
        => Assert.Null(FromEnvironment(usec, pid));

    [Fact]
    public void Pet_WithoutNotifier_DoesNothing()
    {
        var watchdog = new SystemdWatchdog(null, TimeSpan.FromSeconds(10), new WatchedLoops(_time, () => Second, Second).All, _logger);

        Assert.False(watchdog.Enabled);
        watchdog.Pet();
    }

    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    /// <summary>WatchdogSec=10s; the heartbeat every second, GPU sampling every second unless a case says otherwise.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new();
    private readonly RecordingNotifier _notifier = new();
    private readonly CapturingLogger<SystemdWatchdog> _logger = new();

    [Fact]
    public void Pet_BothLoopsFresh_SendsKeepAlive()
    {
        var (loops, watchdog) = Create(Second);

        for (var i = 0; i < 30; i++)
        {
            _time.Advance(Second);
            loops.Sampling.Completed();
            loops.Heartbeat.Completed();
            watchdog.Pet();
        }

        Assert.Equal(30, _notifier.KeepAlives);
        Assert.Empty(_logger.Entries);
    }

    /// <summary>
    /// Sampling stops after its first iteration at second 0. Stuck means more than timeout + period (10 + 1 s)
    /// without an iteration: fed through second 11, withheld from second 12, and the warning logged once.
    /// </summary>
    [Fact]
    public void Pet_SamplingStuckPastTheTimeout_WithholdsAndLogsOnce()
    {
        var (loops, watchdog) = Create(Second);
        loops.Sampling.Completed();

        var fed = HeartbeatsFor(loops, watchdog, seconds: 20);

        Assert.Equal(11, fed);
        var warning = Assert.Single(_logger.Entries);
        Assert.Equal((LogLevel.Warning, 2202), (warning.Level, warning.EventId));
        Assert.Contains("'GPU sampling'", warning.Message, StringComparison.Ordinal);
        Assert.Contains("12000 ms", warning.Message, StringComparison.Ordinal);
        Assert.Null(new SystemdWatchdog(_notifier, null, loops.All, _logger).FindStuckLoop());
        Assert.Same(loops.Sampling, watchdog.FindStuckLoop());
    }

    [Fact]
    public void Pet_SamplingRecovers_SendsKeepAliveAgainAndSaysSo()
    {
        var (loops, watchdog) = Create(Second);
        Assert.Equal(11, HeartbeatsFor(loops, watchdog, seconds: 15));

        loops.Sampling.Completed();
        var fed = HeartbeatsFor(loops, watchdog, seconds: 5, sampling: true);

        Assert.Equal(5, fed);
        Assert.Equal([(LogLevel.Warning, 2202), (LogLevel.Information, 2203)], _logger.Entries.Select(e => (e.Level, e.EventId)));
        Assert.Contains("'GPU sampling'", _logger.Entries[1].Message, StringComparison.Ordinal);
    }

    /// <summary>A telemetry interval longer than WatchdogSec (it may be a minute) is not a hang: sampled every 60 s, fed every second.</summary>
    [Fact]
    public void Pet_SamplingPeriodLongerThanTheTimeout_StaysFed()
    {
        var (loops, watchdog) = Create(TimeSpan.FromSeconds(60));

        var fed = 0;
        for (var minute = 0; minute < 3; minute++)
        {
            fed += HeartbeatsFor(loops, watchdog, seconds: 60);
            loops.Sampling.Completed();
        }

        Assert.Equal(180, fed);
        Assert.Empty(_logger.Entries);
    }

    private (WatchedLoops Loops, SystemdWatchdog Watchdog) Create(TimeSpan samplingInterval)
    {
        var loops = new WatchedLoops(_time, () => Second, samplingInterval);
        return (loops, new SystemdWatchdog(_notifier, Timeout, loops.All, _logger));
    }

    /// <summary>One heartbeat a second for <paramref name="seconds"/>; returns how many keep-alives went out.</summary>
    private int HeartbeatsFor(WatchedLoops loops, SystemdWatchdog watchdog, int seconds, bool sampling = false)
    {
        var before = _notifier.KeepAlives;
        for (var i = 0; i < seconds; i++)
        {
            _time.Advance(Second);
            if (sampling)
            {
                loops.Sampling.Completed();
            }

            loops.Heartbeat.Completed();
            watchdog.Pet();
        }

        return _notifier.KeepAlives - before;
    }
}
