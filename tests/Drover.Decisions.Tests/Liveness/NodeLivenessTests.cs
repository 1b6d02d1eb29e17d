using Drover.Decisions.Liveness;

namespace Drover.Decisions.Tests.Liveness;

public class NodeLivenessTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [Theory]
    // age ms, interval ms, missed, lost?
    [InlineData(0, 1000, 3, false)]
    [InlineData(2999, 1000, 3, false)]
    [InlineData(3000, 1000, 3, true)]   // exactly at the lease: lost
    [InlineData(3001, 1000, 3, true)]
    [InlineData(999, 1000, 1, false)]
    [InlineData(1000, 1000, 1, true)]
    [InlineData(1499, 500, 3, false)]
    [InlineData(1500, 500, 3, true)]
    [InlineData(60_000, 1000, 100, false)]
    public void IsLost_AgeAgainstLease_MatchesTable(int ageMs, int intervalMs, int missed, bool expected)
    {
        var lost = NodeLiveness.IsLost(TimeSpan.FromMilliseconds(ageMs), TimeSpan.FromMilliseconds(intervalMs), missed);

        Assert.Equal(expected, lost);
    }

    [Theory]
    // alive, connected, heartbeat age ms (interval 1000, 3 missed: lease 3000), oldest unanswered probe ms (-1: none), probe timeout ms, survives?
    [InlineData(true, true, 0, -1, 1000, true)]          // no probe yet
    [InlineData(true, true, 0, 0, 1000, true)]           // a probe just sent
    [InlineData(true, true, 0, 999, 1000, true)]         // just under the timeout
    [InlineData(true, true, 0, 1000, 1000, false)]       // exactly at the timeout: unanswered
    [InlineData(true, true, 0, 1001, 1000, false)]
    [InlineData(true, true, 2999, 500, 1000, true)]      // heartbeat just under the lease
    [InlineData(true, true, 3000, -1, 1000, false)]      // heartbeat exactly at the lease
    [InlineData(true, false, 0, -1, 1000, false)]        // disconnected
    [InlineData(false, true, 0, -1, 1000, false)]        // draining, stopping or lost
    [InlineData(false, false, 5000, 5000, 1000, false)]
    [InlineData(true, true, 0, 59_999, 60_000, true)]
    [InlineData(true, true, 0, 10, 10, false)]
    public void Survives_Inputs_MatchTable(bool alive, bool connected, int heartbeatAgeMs, int oldestProbeMs, int probeTimeoutMs, bool expected)
    {
        var survives = NodeLiveness.Survives(
            alive,
            connected,
            TimeSpan.FromMilliseconds(heartbeatAgeMs),
            Second,
            3,
            oldestProbeMs < 0 ? null : TimeSpan.FromMilliseconds(oldestProbeMs),
            TimeSpan.FromMilliseconds(probeTimeoutMs));

        Assert.Equal(expected, survives);
    }

    [Fact]
    public void Survives_NonPositiveProbeTimeout_Throws()
        => Assert.Throws<ArgumentOutOfRangeException>(() => NodeLiveness.Survives(true, true, TimeSpan.Zero, Second, 3, null, TimeSpan.Zero));

    [Fact]
    public void Lease_IntervalTimesMissed_IsReturned()
        => Assert.Equal(TimeSpan.FromMilliseconds(2500), NodeLiveness.Lease(TimeSpan.FromMilliseconds(500), 5));

    [Theory]
    [InlineData(0, 3)]
    [InlineData(-1, 3)]
    [InlineData(1000, 0)]
    public void Lease_NonPositiveInput_Throws(int intervalMs, int missed)
        => Assert.Throws<ArgumentOutOfRangeException>(() => NodeLiveness.Lease(TimeSpan.FromMilliseconds(intervalMs), missed));

    [Fact]
    public void NextCheckIn_NoNodes_IsThePeriod()
        => Assert.Equal(Second, NodeLiveness.NextCheckIn([], Second, 3, Second));

    [Fact]
    public void NextCheckIn_LeaseEndsBeforePeriod_WakesAtTheLeaseEnd()
    {
        // One node heard 2.6 s ago with a 3 s lease: check again in 0.4 s, not in a whole period.
        var next = NodeLiveness.NextCheckIn([TimeSpan.FromMilliseconds(2600), TimeSpan.FromMilliseconds(100)], Second, 3, Second);

        Assert.Equal(TimeSpan.FromMilliseconds(400), next);
    }

    [Fact]
    public void NextCheckIn_LeaseAlreadyOver_IsZero()
        => Assert.Equal(TimeSpan.Zero, NodeLiveness.NextCheckIn([TimeSpan.FromSeconds(5)], Second, 3, Second));

    [Fact]
    public void NextCheckIn_AllLeasesFarOff_IsThePeriod()
        => Assert.Equal(Second, NodeLiveness.NextCheckIn([TimeSpan.Zero], Second, 3, Second));
}
