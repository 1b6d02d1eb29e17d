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
