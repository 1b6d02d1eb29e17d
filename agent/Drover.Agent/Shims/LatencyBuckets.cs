using Drover.Protocol.V1;

namespace Drover.Agent.Shims;

/// <summary>
/// A cumulative latency histogram with fixed bounds (milliseconds), the same on every node so the
/// aggregator can add them up. Thread-safe; counts only grow.
/// </summary>
internal sealed class LatencyBuckets
{
    /// <summary>The upper bounds of the buckets; one more bucket counts what took longer than the last.</summary>
    public static readonly double[] BoundsMs = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

    private readonly long[] _counts = new long[BoundsMs.Length + 1];
    private readonly Lock _gate = new();
    private double _sumMs;
    private long _count;

    /// <summary>The bucket a latency falls in: the first whose bound is at least it.</summary>
    public static int BucketOf(double ms)
    {
        for (var i = 0; i < BoundsMs.Length; i++)
        {
            if (ms <= BoundsMs[i])
            {
                return i;
            }
        }

        return BoundsMs.Length;
    }

    public void Record(double ms)
    {
        lock (_gate)
        {
            _counts[BucketOf(ms)]++;
            _sumMs += ms;
            _count++;
        }
    }

    public LatencyHistogram Snapshot()
    {
        var histogram = new LatencyHistogram();
        histogram.BoundsMs.Add(BoundsMs);
        lock (_gate)
        {
            foreach (var count in _counts)
            {
                histogram.Counts.Add((ulong)count);
            }

            histogram.SumMs = _sumMs;
            histogram.Count = (ulong)_count;
        }

        return histogram;
    }
}
