using Drover.Agent.Configuration;
using Drover.Agent.Telemetry;
using Drover.Nvml;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Agent.Tests.Telemetry;

/// <summary>MIG instances as the sampler reports them: units of their own under their GPU.</summary>
public class GpuTelemetryMigTests
{
    private const string Parent = "GPU-0000";
    private const string Small = "MIG-small";
    private const string Other = "MIG-other";

    private readonly FakeTimeProvider _time = new();
    private readonly InMemoryNvml _nvml = new();
    private readonly GpuHealthBoard _health;
    private readonly ReportedGpuWork _reported;

    public GpuTelemetryMigTests()
    {
        _health = new GpuHealthBoard(_time, TimeSpan.FromSeconds(300));
        _reported = new ReportedGpuWork(_time, new AgentOptions { ReportedQueueStalenessMs = 5000 });
        _nvml.Gpus.Add(new InMemoryGpu(0));
        _nvml.Gpus.Add(new InMemoryGpu(0) { Uuid = Small, Mig = new GpuMigInstance(Parent, "1g.10gb", 1, 0), Activity = null, Memory = new(10UL << 30, 1UL << 30, 9UL << 30, 0) });
        _nvml.Gpus.Add(new InMemoryGpu(0) { Uuid = Other, Mig = new GpuMigInstance(Parent, "3g.40gb", 2, 0), Activity = null, Memory = new(40UL << 30, 0, 40UL << 30, 0) });
        _nvml.Gpus.Add(new InMemoryGpu(1));
    }

    private GpuTelemetry Create()
        => new(_nvml, _health, _reported, new AgentOptions { ServerNumber = 1, GpuReprobeIntervalMs = 30_000 }, _time, NullLogger<GpuTelemetry>.Instance);

    private static GpuSample Gpu(Protocol.V1.Telemetry telemetry, string uuid) => telemetry.Gpus.Single(g => g.Gpu.Uuid == uuid);

    [Fact]
    public void Sample_MigInstances_AreListedWithTheirGpuProfileMemoryAndAQueueOfTheirOwn()
    {
        var telemetry = Create();
        _reported.Report("instance-a", Small, submitted: 5, completed: 2);

        var sample = telemetry.Sample();

        Assert.Equal([Parent, Small, Other, "GPU-0001"], sample.Gpus.Select(g => g.Gpu.Uuid));
        var small = Gpu(sample, Small);
        Assert.Equal((Parent, "1g.10gb", 1U, 0U), (small.Gpu.ParentUuid, small.Gpu.MigProfile, small.Gpu.GpuInstanceId, small.Gpu.ComputeInstanceId));
        Assert.Equal(10UL << 30, small.MemoryTotalBytes);
        Assert.Equal(GpuHealth.Ok, small.Health);
        Assert.Equal((3.0, CommandQueueSource.Reported), (small.CommandQueueLength, small.CommandQueueSource));

        // NVML gives no utilization under MIG, and this driver no GPM: the other instance's queue is unknown, not an idle zero.
        var other = Gpu(sample, Other);
        Assert.Equal(CommandQueueSource.Unknown, other.CommandQueueSource);
        Assert.Contains("utilization", other.UnavailableFields);
        Assert.Equal("", Gpu(sample, Parent).Gpu.ParentUuid);
        Assert.Equal(["GPU-0000", Small, Other, "GPU-0001"], telemetry.Inventory().Select(g => g.Uuid));
    }

    /// <summary>Where GPM measures a MIG instance's activity, its queue is estimated from its own processes and activity.</summary>
    [Fact]
    public void Sample_MigInstanceWithGpm_QueueEstimatedFromItsOwnActivity()
    {
        var other = _nvml.Gpus.Single(g => g.Uuid == Other);
        other.Activity = new GpuActivity(50, 40, null);
        other.Processes.Add(new Nvml.GpuProcess(100, 1UL << 30));
        other.Processes.Add(new Nvml.GpuProcess(101, 1UL << 30));
        var telemetry = Create();

        var sample = Gpu(telemetry.Sample(), Other);

        Assert.Equal((1.0, CommandQueueSource.Estimated), (sample.CommandQueueLength, sample.CommandQueueSource));
        Assert.Equal((50.0, 40.0, 0.0), (sample.GraphicsActivityPercent, sample.SmActivityPercent, sample.SmOccupancyPercent));
        Assert.Contains("smOccupancyPercent", sample.UnavailableFields);
        Assert.Equal(52U, sample.MemoryTemperatureC);
    }

    [Fact]
    public void Sample_HardwareXidOnTheGpu_TakesItsMigInstancesOutWithIt()
    {
        var telemetry = Create();
        _health.Record(Parent, 79);

        var sample = telemetry.Sample();

        foreach (var uuid in new[] { Small, Other })
        {
            var instance = Gpu(sample, uuid);
            Assert.Equal(GpuHealth.Unhealthy, instance.Health);
            Assert.Equal(79U, instance.Xid);
            Assert.StartsWith($"its GPU {Parent}: ", instance.HealthReason, StringComparison.Ordinal);
        }

        Assert.Equal(GpuHealth.Ok, Gpu(sample, "GPU-0001").Health);
    }

    [Fact]
    public void Sample_XidOnOneMigInstance_TakesOnlyThatInstanceOut()
    {
        var telemetry = Create();
        _health.Record(Small, 94);

        var sample = telemetry.Sample();

        Assert.Equal(GpuHealth.Unhealthy, Gpu(sample, Small).Health);
        Assert.Equal(GpuHealth.Ok, Gpu(sample, Other).Health);
        Assert.Equal(GpuHealth.Ok, Gpu(sample, Parent).Health);
    }

    [Fact]
    public void Probe_MigInstanceDestroyed_IsForgottenNotLost_AndMigGpusAreEnumeratedAgainEachInterval()
    {
        var telemetry = Create();
        Assert.False(telemetry.NeedsProbe);
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(telemetry.NeedsProbe); // a GPU with MIG: instances come and go without a GPU coming or going

        _nvml.Gpus.RemoveAll(g => g.Uuid == Other);
        telemetry.Probe();
        var sample = telemetry.Sample();

        Assert.DoesNotContain(sample.Gpus, g => g.Gpu.Uuid == Other);
        Assert.False(telemetry.NeedsProbe);
    }

    [Fact]
    public void Sample_GpuMissingWithItsMigInstances_AllAreLost()
    {
        var telemetry = Create();
        foreach (var gpu in _nvml.Gpus.Where(g => g.Uuid is Parent or Small))
        {
            gpu.Missing = true;
        }

        telemetry.Probe();
        var sample = telemetry.Sample();

        Assert.Equal(GpuHealth.Lost, Gpu(sample, Parent).Health);
        Assert.Equal(GpuHealth.Lost, Gpu(sample, Small).Health);
    }
}
