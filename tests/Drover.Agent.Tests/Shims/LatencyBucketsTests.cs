using Drover.Agent.Shims;

namespace Drover.Agent.Tests.Shims;

public sealed class LatencyBucketsTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 0)]
    [InlineData(1.01, 1)]
    [InlineData(2, 1)]
    [InlineData(7, 3)]
    [InlineData(100, 6)]
    [InlineData(100.5, 7)]
    [InlineData(30000, 13)]
    [InlineData(30000.1, 14)]
    [InlineData(1e9, 14)]
    public void BucketOf_Latency_FirstBoundAtLeastIt(double ms, int bucket) => Assert.Equal(bucket, LatencyBuckets.BucketOf(ms));

    [Fact]
    public void Snapshot_Recorded_CountsSumAndBounds()
    {
        var buckets = new LatencyBuckets();
        buckets.Record(0.5);
        buckets.Record(3);
        buckets.Record(4);
        buckets.Record(60_000);

        var histogram = buckets.Snapshot();

        Assert.Equal(LatencyBuckets.BoundsMs, histogram.BoundsMs);
        Assert.Equal(LatencyBuckets.BoundsMs.Length + 1, histogram.Counts.Count);
        Assert.Equal(1UL, histogram.Counts[0]);
        Assert.Equal(2UL, histogram.Counts[2]);
        Assert.Equal(1UL, histogram.Counts[^1]);
        Assert.Equal(4UL, histogram.Count);
        Assert.Equal(60_007.5, histogram.SumMs);
    }
}
