using Drover.Aggregator.Leadership;

namespace Drover.Aggregator.Tests.Leadership;

public sealed class LeaderViewTests
{
    /// <summary>Rows: whether the lease runs, the holder, how long ago it renewed (ms; null: never); whether it is named, the renewal being 500 ms.</summary>
    [Theory]
    [InlineData(true, "a", 0, true)]
    [InlineData(true, "a", 1500, true)]
    [InlineData(true, "a", 1501, false)]
    [InlineData(false, "a", 0, false)]
    [InlineData(true, null, 0, false)]
    [InlineData(true, "a", null, false)]
    public void Reachable_Cases(bool leaseRunning, string? holder, int? sinceRenewedMs, bool reachable)
    {
        var view = new LeaderView(
            "store-1",
            3,
            holder,
            "https://a:7401",
            "https://a:7400",
            DateTimeOffset.UnixEpoch,
            sinceRenewedMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null,
            leaseRunning);

        Assert.Equal(reachable, view.Reachable(TimeSpan.FromMilliseconds(500)));
    }
}
