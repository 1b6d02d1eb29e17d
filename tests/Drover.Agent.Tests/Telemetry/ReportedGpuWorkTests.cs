using Drover.Agent.Configuration;
using Drover.Agent.Telemetry;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Agent.Tests.Telemetry;

public class ReportedGpuWorkTests
{
    private readonly ReportedGpuWork _work = new();

    [Fact]
    public void TryGetQueueLength_NoReports_False()
    {
        Assert.False(_work.TryGetQueueLength("GPU-0", out var length));
        Assert.Equal(0, length);
    }

    [Fact]
    public void TryGetQueueLength_SeveralInstances_SumsOutstandingWork()
    {
        _work.Report("a", "GPU-0", 10, 4);
        _work.Report("b", "GPU-0", 100, 99);
        _work.Report("b", "GPU-1", 5, 0);

        Assert.True(_work.TryGetQueueLength("GPU-0", out var gpu0));
        Assert.True(_work.TryGetQueueLength("GPU-1", out var gpu1));
        Assert.Equal(7, gpu0);
        Assert.Equal(5, gpu1);
    }

    [Fact]
    public void TryGetQueueLength_AllWorkCompleted_TrueAndZero()
    {
        _work.Report("a", "GPU-0", 10, 10);

        Assert.True(_work.TryGetQueueLength("GPU-0", out var length));
        Assert.Equal(0, length);
    }

    [Fact]
    public void TryGetQueueLength_CompletedAboveSubmitted_CountsZeroForThatInstance()
    {
        _work.Report("a", "GPU-0", 3, 9);
        _work.Report("b", "GPU-0", 4, 1);

        Assert.True(_work.TryGetQueueLength("GPU-0", out var length));
        Assert.Equal(3, length);
    }

    /// <summary>A broken or hostile counter is held to what one instance may count for: no overflow, no GPU made to look endlessly busy.</summary>
    [Fact]
    public void TryGetQueueLength_HugeCounters_EachBoundedPerInstance()
    {
        _work.Report("a", "GPU-0", ulong.MaxValue, 0);
        _work.Report("b", "GPU-0", 7, 0);

        Assert.True(_work.TryGetQueueLength("GPU-0", out var length));
        Assert.Equal(ReportedGpuWork.MaxInFlightPerInstance + 7.0, length);
    }

    /// <summary>Reports older than the staleness no longer count; the age is the newest fresh report's.</summary>
    [Fact]
    public void TryGetQueueLength_ReportsAge_StaleOnesIgnoredAndTheNewestAgeGiven()
    {
        var time = new FakeTimeProvider();
        var work = new ReportedGpuWork(time, new AgentOptions { ReportedQueueStalenessMs = 5000 });
        work.Report("old", "GPU-0", 10, 0);
        time.Advance(TimeSpan.FromSeconds(3));
        work.Report("new", "GPU-0", 4, 1);
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.True(work.TryGetQueueLength("GPU-0", out var both, out var age));
        Assert.Equal((13.0, TimeSpan.FromSeconds(1)), (both, age));

        time.Advance(TimeSpan.FromSeconds(2)); // "old" is 6 s old now
        Assert.True(work.TryGetQueueLength("GPU-0", out var fresh, out age));
        Assert.Equal((3.0, TimeSpan.FromSeconds(3)), (fresh, age));

        time.Advance(TimeSpan.FromSeconds(3));
        Assert.False(work.TryGetQueueLength("GPU-0", out _, out _));
    }

    [Fact]
    public void Report_Again_ReplacesEarlierCounters()
    {
        _work.Report("a", "GPU-0", 10, 0);

        _work.Report("a", "GPU-0", 12, 11);

        _work.TryGetQueueLength("GPU-0", out var length);
        Assert.Equal(1, length);
    }

    [Fact]
    public void Forget_OneOfTwoInstances_KeepsTheOther()
    {
        _work.Report("a", "GPU-0", 10, 0);
        _work.Report("b", "GPU-0", 3, 0);

        _work.Forget("a");

        Assert.True(_work.TryGetQueueLength("GPU-0", out var length));
        Assert.Equal(3, length);
    }

    [Fact]
    public void Forget_LastInstanceOfGpu_GpuNoLongerReported()
    {
        _work.Report("a", "GPU-0", 10, 0);

        _work.Forget("a");
        _work.Forget("never-reported");

        Assert.False(_work.TryGetQueueLength("GPU-0", out _));
    }

    [Fact]
    public void Report_MoreGpusThanAllowedPerInstance_FurtherGpusDropped()
    {
        for (var i = 0; i <= ReportedGpuWork.MaxGpusPerInstance; i++)
        {
            _work.Report("a", $"GPU-{i}", 1, 0);
        }

        Assert.True(_work.TryGetQueueLength($"GPU-{ReportedGpuWork.MaxGpusPerInstance - 1}", out _));
        Assert.False(_work.TryGetQueueLength($"GPU-{ReportedGpuWork.MaxGpusPerInstance}", out _));

        // A GPU it already reports for still updates.
        _work.Report("a", "GPU-0", 5, 0);
        _work.TryGetQueueLength("GPU-0", out var length);
        Assert.Equal(5, length);
    }

    [Fact]
    public async Task Report_ConcurrentWritersAndReader_ConsistentSums()
    {
        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(() =>
        {
            for (ulong i = 1; i <= 2000; i++)
            {
                _work.Report($"i{w}", "GPU-0", i, i - 1);
                if (i % 500 == 0)
                {
                    _work.Forget($"i{w}");
                }
            }

            _work.Report($"i{w}", "GPU-0", 1, 0);
        }));
        var reader = Task.Run(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                if (_work.TryGetQueueLength("GPU-0", out var length))
                {
                    Assert.InRange(length, 0, 8);
                }
            }
        });

        await Task.WhenAll(writers.Append(reader)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(_work.TryGetQueueLength("GPU-0", out var total));
        Assert.Equal(8, total);
    }
}
