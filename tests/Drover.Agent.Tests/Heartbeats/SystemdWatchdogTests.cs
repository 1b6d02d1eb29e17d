using System.Globalization;
using Drover.Agent.Heartbeats;

namespace Drover.Agent.Tests.Heartbeats;

public class SystemdWatchdogTests
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
        var watchdog = new SystemdWatchdog(null, TimeSpan.FromSeconds(10));

        Assert.False(watchdog.Enabled);
        watchdog.Pet();
    }
}
