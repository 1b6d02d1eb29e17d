using Drover.Agent.Link;

namespace Drover.Agent.Tests.Link;

public class ReconnectBackoffTests
{
    /// <summary>A Random that always returns the same value, so jitter is pinned.</summary>
    private sealed class FixedRandom(double value) : Random
    {
        public override double NextDouble() => value;
    }

    [Fact]
    public void NextDelay_NoJitter_GrowsBy1Point6UntilCapped()
    {
        var backoff = new ReconnectBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500), new FixedRandom(0.5));

        var delays = Enumerable.Range(0, 6).Select(_ => Math.Round(backoff.NextDelay().TotalMilliseconds, 3)).ToArray();

        Assert.Equal([100, 160, 256, 409.6, 500, 500], delays);
    }

    [Theory]
    [InlineData(0.0, 80)]
    [InlineData(1.0, 120)]
    public void NextDelay_JitterAtItsEnds_IsPlusOrMinus20Percent(double random, double expectedMs)
    {
        var backoff = new ReconnectBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10), new FixedRandom(random));

        Assert.Equal(expectedMs, backoff.NextDelay().TotalMilliseconds, precision: 6);
    }

    [Fact]
    public void Reset_AfterGrowth_StartsAgainFromInitial()
    {
        var backoff = new ReconnectBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10), new FixedRandom(0.5));
        backoff.NextDelay();
        backoff.NextDelay();

        backoff.Reset();

        Assert.Equal(100, backoff.NextDelay().TotalMilliseconds, precision: 6);
    }
}
