using System.Globalization;
using Microsoft.Extensions.Hosting.Systemd;

namespace Drover.Agent.Heartbeats;

/// <summary>
/// Sends <c>WATCHDOG=1</c> for the heartbeat loop, the loop whose hang should make systemd restart
/// the agent. Active only when systemd set <c>WATCHDOG_USEC</c> (and <c>WATCHDOG_PID</c>, when set,
/// names this process) and a notifier is registered (AddSystemd registers one only under systemd).
/// </summary>
internal sealed class SystemdWatchdog
{
    private readonly ISystemdNotifier? _notifier;

    public SystemdWatchdog(ISystemdNotifier? notifier, TimeSpan? timeout)
    {
        _notifier = notifier;
        Timeout = timeout;
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

    public void Pet()
    {
        if (Enabled)
        {
            _notifier!.Notify(new ServiceState("WATCHDOG=1"));
        }
    }
}
