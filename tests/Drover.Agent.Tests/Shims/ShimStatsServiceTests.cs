using Drover.Agent.Configuration;
using Drover.Agent.Instances;
using Drover.Agent.Link;
using Drover.Agent.LocalSocket;
using Drover.Agent.Shims;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Agent.Tests.Shims;

public sealed class ShimStatsServiceTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"drover-stats-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task ExecuteAsync_EveryTelemetryInterval_SendsCumulativeCounters()
    {
        var time = new FakeTimeProvider();
        var options = new AgentOptions { ServerNumber = 1, StateDirectory = _directory, TelemetryIntervalMs = 1000 };
        var outbox = new AgentOutbox();
        var manager = new InstanceManager(options, new NodeHello("node-1", options), new InstanceTokens(), outbox, new RestoreStaging(options, NullLogger<RestoreStaging>.Instance), time, NullLoggerFactory.Instance);
        var workloads = new ShimWorkloads(manager);
        var echo = workloads.GetOrAdd(WorkloadKey.Function("echo"));
        echo.RecordCompleted(3);
        echo.RecordFailed(GateOutcome.QueueFull);
        workloads.GetOrAdd(WorkloadKey.Service("api")).RecordFailed(GateOutcome.TimedOut);
        var stream = outbox.Open();
        outbox.Attach(stream);
        using var service = new ShimStatsService(workloads, outbox, options, time);
        await service.StartAsync(CancellationToken.None);

        // ExecuteAsync starts on the thread pool (.NET 10): advance until its timer exists and ticks.
        Assert.False(stream.Reader.TryRead(out _));
        var read = stream.Reader.ReadAsync().AsTask();
        for (var step = 0; step < 1000 && !read.IsCompleted; step++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(read, Task.Delay(10, CancellationToken.None));
        }

        var sent = await read.WaitAsync(Bound);
        await service.StopAsync(CancellationToken.None);

        var stats = sent.Message.ShimStats;
        Assert.Equal([(WorkloadKind.Function, "echo"), (WorkloadKind.Service, "api")], stats.Workloads.Select(w => (w.Kind, w.Name)));
        var function = stats.Workloads[0];
        Assert.Equal((1UL, 1UL, 1UL, 0UL), (function.Completed, function.Failed, function.Rejected, function.TimedOut));
        Assert.Equal(1UL, function.Latency.Counts[LatencyBuckets.BucketOf(3)]);
        Assert.Equal((0UL, 1UL, 0UL, 1UL), (stats.Workloads[1].Completed, stats.Workloads[1].Failed, stats.Workloads[1].Rejected, stats.Workloads[1].TimedOut));
    }
}
