using System.Globalization;
using Microsoft.Extensions.Hosting.Systemd;

using Microsoft.Extensions.Logging;

namespace Drover.Hosting;

/// <summary>
/// Sends <c>WATCHDOG=1</c> when petted, but only while every watched loop makes progress: in the agent the
/// heartbeat loop pets it and the GPU sampling loop is watched too (a hung NVML call stalls every GPU's sample
/// while the heartbeat goes on); in the aggregator a timer pets it and the decision loop is watched. Only a
/// withheld keep-alive makes systemd restart the program. Active only when systemd set <c>WATCHDOG_USEC</c> (and
/// <c>WATCHDOG_PID</c>, when set, names this process) and a notifier is registered (AddSystemd registers one only
/// under systemd).
/// </summary>
public sealed partial class SystemdWatchdog
{
    private readonly ISystemdNotifier? _notifier;
    private readonly IReadOnlyList<LoopProgress> _loops;
    private readonly ILogger<SystemdWatchdog> _logger;

    // One caller pets, one call at a time, so this needs no lock.
    private LoopProgress? _withheldFor;

    /// <param name="notifier">systemd's notifier; null (or disabled) outside systemd.</param>
    /// <param name="timeout">The watchdog timeout (<see cref="TimeoutFromEnvironment"/>); null when the watchdog is off.</param>
    /// <param name="loops">The loops that must make progress for the keep-alive to go out.</param>
    /// <param name="logger">Where a withheld keep-alive is logged.</param>
    public SystemdWatchdog(ISystemdNotifier? notifier, TimeSpan? timeout, IReadOnlyList<LoopProgress> loops, ILogger<SystemdWatchdog> logger)
    {
        _notifier = notifier;
        Timeout = timeout;
        _loops = loops;
        _logger = logger;
    }

    /// <summary>The watchdog timeout systemd enforces, or null when the watchdog is off.</summary>
    public TimeSpan? Timeout { get; }

    public bool Enabled => Timeout is not null && _notifier is { IsEnabled: true };

    /// <summary>Reads the watchdog settings systemd passes in the environment.</summary>
    public static TimeSpan? TimeoutFromEnvironment(Func<string, string?> getEnvironmentVariable)
    {
        var usec = getEnvironmentVariable("WATCHDOG_USEC");
        if (!long.TryParse(usec, NumberStyles.None, CultureInfo.InvariantCulture, out var microseconds) || microseconds <= 0)
        {
            return null;
        }

        var pid = getEnvironmentVariable("WATCHDOG_PID");
        if (!string.IsNullOrEmpty(pid)
            && (!int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out var target) || target != Environment.ProcessId))
        {
            // The watchdog is meant for another process of the unit.
            return null;
        }

        return TimeSpan.FromMicroseconds(microseconds);
    }

    /// <summary>
    /// A loop is stuck when it has not completed an iteration for longer than the watchdog timeout plus its
    /// own period: a healthy loop completes one every period, so however its period compares with
    /// WatchdogSec (telemetry may be sampled once a minute) it never trips, while a hung one is caught
    /// within that time, and systemd restarts the agent one timeout later.
    /// </summary>
    public LoopProgress? FindStuckLoop()
    {
        if (Timeout is not { } timeout)
        {
            return null;
        }

        foreach (var loop in _loops)
        {
            if (loop.SinceLastCompleted > timeout + loop.Period)
            {
                return loop;
            }
        }

        return null;
    }

    /// <summary>Sends the keep-alive when every watched loop makes progress; otherwise withholds it and says which loop is stuck, once.</summary>
    public void Pet()
    {
        if (!Enabled)
        {
            return;
        }

        if (FindStuckLoop() is { } stuck)
        {
            if (_withheldFor is null)
            {
                _withheldFor = stuck;
                Log.WatchdogWithheld(_logger, stuck.Name, (long)stuck.SinceLastCompleted.TotalMilliseconds);
            }

            return;
        }

        if (_withheldFor is { } recovered)
        {
            _withheldFor = null;
            Log.WatchdogResumed(_logger, recovered.Name);
        }

        _notifier!.Notify(new ServiceState("WATCHDOG=1"));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2202, EventName = "WatchdogWithheld", Level = LogLevel.Warning,
            Message = "The systemd watchdog keep-alive is withheld: the '{Loop}' loop has not completed an iteration for {StalledMs} ms; systemd will restart the program unless it recovers.")]
        public static partial void WatchdogWithheld(ILogger logger, string loop, long stalledMs);

        [LoggerMessage(EventId = 2203, EventName = "WatchdogResumed", Level = LogLevel.Information,
            Message = "The '{Loop}' loop completes iterations again; the systemd watchdog keep-alive is sent again.")]
        public static partial void WatchdogResumed(ILogger logger, string loop);
    }
}
