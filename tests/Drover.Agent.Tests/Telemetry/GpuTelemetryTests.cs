using Drover.Agent.Configuration;
using Drover.Agent.Telemetry;
using Drover.Nvml;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Agent.Tests.Telemetry;

public class GpuTelemetryTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly InMemoryNvml _nvml = new();
    private readonly GpuHealthBoard _health;
    private readonly ReportedGpuWork _reported;

    public GpuTelemetryTests()
    {
        _health = new GpuHealthBoard(_time, TimeSpan.FromSeconds(300));
        _reported = new ReportedGpuWork(_time, new AgentOptions { ReportedQueueStalenessMs = 5000 });
        _nvml.Gpus.Add(new InMemoryGpu(0));
        _nvml.Gpus.Add(new InMemoryGpu(1));
    }

    private GpuTelemetry Create(int processIntervalMs = 10_000)
        => new(_nvml, _health, _reported, new AgentOptions { ServerNumber = 1, ProcessSampleIntervalMs = processIntervalMs }, _time, NullLogger<GpuTelemetry>.Instance);

    private static GpuSample Gpu(Protocol.V1.Telemetry telemetry, int index) => telemetry.Gpus.Single(g => g.Gpu.Index == index);

    [Fact]
    public void Sample_HealthyGpus_CarriesEveryField()
    {
        _nvml.Gpus[0].Processes.Add(new Nvml.GpuProcess(42, 1 << 20));
        var telemetry = Create();

        var sample = telemetry.Sample();

        Assert.True(sample.Status.Available);
        Assert.Equal("550.54.15", sample.Status.DriverVersion);
        var gpu = Gpu(sample, 0);
        Assert.Equal("GPU-0000", gpu.Gpu.Uuid);
        Assert.Equal("00000000:17:00.0", gpu.Gpu.PciBusId);
        Assert.Equal(GpuHealth.Ok, gpu.Health);
        Assert.Equal(80UL << 30, gpu.MemoryTotalBytes);
        Assert.Equal(79UL << 30, gpu.MemoryFreeBytes);
        Assert.Equal(50U, gpu.UtilizationGpuPercent);
        Assert.Equal(45U, gpu.TemperatureC);
        Assert.Equal(150_000U, gpu.PowerMilliwatts);
        Assert.Equal(42U, Assert.Single(gpu.Processes).Pid);
        Assert.Equal(0.5, gpu.CommandQueueLength);
        Assert.Equal(CommandQueueSource.Estimated, gpu.CommandQueueSource);
        Assert.Empty(gpu.UnavailableFields);
    }

    [Fact]
    public void Sample_OneGpuLost_ReportsItLostAndTheOtherOk()
    {
        var telemetry = Create();
        _nvml.Gpus[1].Failing = NvmlReturn.GpuIsLost;

        var sample = telemetry.Sample();

        Assert.Equal(GpuHealth.Ok, Gpu(sample, 0).Health);
        Assert.Equal(GpuHealth.Lost, Gpu(sample, 1).Health);
        Assert.Equal(0UL, Gpu(sample, 1).MemoryTotalBytes);
        Assert.True(telemetry.NeedsProbe);
    }

    [Fact]
    public void Sample_LostGpuAnswersAgain_IsOkAgain()
    {
        var telemetry = Create();
        _nvml.Gpus[1].Failing = NvmlReturn.GpuIsLost;
        telemetry.Sample();

        _nvml.Gpus[1].Failing = null;
        telemetry.Probe();
        var sample = telemetry.Sample();

        Assert.Equal(GpuHealth.Ok, Gpu(sample, 1).Health);
        Assert.False(telemetry.NeedsProbe);
    }

    [Fact]
    public void Sample_GpuMissingFromEnumeration_IsStillReportedLost()
    {
        var telemetry = Create();
        _nvml.Gpus[1].Missing = true;
        telemetry.Probe();

        var sample = telemetry.Sample();

        Assert.Equal(2, sample.Gpus.Count);
        Assert.Equal(GpuHealth.Lost, Gpu(sample, 1).Health);
        Assert.Equal("GPU-0001", Gpu(sample, 1).Gpu.Uuid);
    }

    [Fact]
    public void Sample_XidOnOneGpu_MarksThatGpuAloneUntilTheHoldEnds()
    {
        var telemetry = Create();
        _health.Record("GPU-0001", 79);

        var sample = telemetry.Sample();
        Assert.Equal(GpuHealth.Ok, Gpu(sample, 0).Health);
        Assert.Equal(GpuHealth.Unhealthy, Gpu(sample, 1).Health);
        Assert.Equal(79U, Gpu(sample, 1).Xid);
        Assert.Contains("hardware XID 79", Gpu(sample, 1).HealthReason, StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromSeconds(300));
        Assert.Equal(GpuHealth.Ok, Gpu(telemetry.Sample(), 1).Health);
    }

    [Fact]
    public void Sample_ApplicationXid_IsRecordedAndTheGpuStaysOk()
    {
        var telemetry = Create();
        _health.Record("GPU-0001", 45);

        var gpu = Gpu(telemetry.Sample(), 1);

        Assert.Equal(GpuHealth.Ok, gpu.Health);
        Assert.Equal(45U, gpu.Xid);
        Assert.Contains("application XID 45", gpu.HealthReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Sample_ApplicationXidAfterHardwareXid_KeepsTheGpuUnhealthy()
    {
        var telemetry = Create();
        _health.Record("GPU-0001", 79);
        _time.Advance(TimeSpan.FromSeconds(10));
        _health.Record("GPU-0001", 45);

        var gpu = Gpu(telemetry.Sample(), 1);

        Assert.Equal(GpuHealth.Unhealthy, gpu.Health);
        Assert.Equal(79U, gpu.Xid);
    }

    [Theory]
    [InlineData(NvmlReturn.ResetRequired, GpuHealth.Unhealthy, GpuHealth.Unhealthy)]
    [InlineData(NvmlReturn.Unknown, GpuHealth.Degraded, GpuHealth.Unhealthy)]
    [InlineData(NvmlReturn.NotReady, GpuHealth.Unhealthy, GpuHealth.Unhealthy)]
    [InlineData(NvmlReturn.GpuIsLost, GpuHealth.Lost, GpuHealth.Lost)]
    [InlineData(NvmlReturn.NotSupported, GpuHealth.Ok, GpuHealth.Ok)]
    public void Sample_EveryCallFails_HealthOnFirstAndSecondSample(NvmlReturn code, GpuHealth first, GpuHealth second)
    {
        var telemetry = Create();
        _nvml.Gpus[1].Failing = code;

        var one = Gpu(telemetry.Sample(), 1);
        var two = Gpu(telemetry.Sample(), 1);

        Assert.Equal((first, second), (one.Health, two.Health));
        Assert.Equal(GpuHealth.Ok, Gpu(telemetry.Sample(), 0).Health);
    }

    [Fact]
    public void Sample_UnknownStreakBroken_StartsCountingAgain()
    {
        var telemetry = Create();
        _nvml.Gpus[1].Failing = NvmlReturn.Unknown;
        telemetry.Sample();
        _nvml.Gpus[1].Failing = null;
        Assert.Equal(GpuHealth.Ok, Gpu(telemetry.Sample(), 1).Health);

        _nvml.Gpus[1].Failing = NvmlReturn.Unknown;

        Assert.Equal(GpuHealth.Degraded, Gpu(telemetry.Sample(), 1).Health);
    }

    [Fact]
    public void Sample_FieldNotSupported_IsNamedAndTheRestIsRead()
    {
        var telemetry = Create();
        _nvml.Gpus[0].PowerFailing = NvmlReturn.NotSupported;

        var gpu = Gpu(telemetry.Sample(), 0);

        Assert.Equal(GpuHealth.Ok, gpu.Health);
        Assert.Equal(["powerMilliwatts"], gpu.UnavailableFields);
        Assert.Equal(45U, gpu.TemperatureC);
    }

    [Fact]
    public void Sample_ProcessMemoryNotAvailable_LeavesTheFieldAbsent()
    {
        _nvml.Gpus[0].Processes.Add(new Nvml.GpuProcess(42, null));
        _nvml.Gpus[0].Processes.Add(new Nvml.GpuProcess(43, 1 << 20));
        var telemetry = Create();

        var processes = Gpu(telemetry.Sample(), 0).Processes;

        Assert.Equal(2, processes.Count);
        Assert.False(processes[0].HasUsedMemoryBytes);
        Assert.True(processes[1].HasUsedMemoryBytes);
        Assert.Equal(1UL << 20, processes[1].UsedMemoryBytes);
    }

    [Fact]
    public void Sample_MemoryValueNotAvailable_IsZeroAndNamed()
    {
        _nvml.Gpus[0].Memory = new GpuMemory(80UL << 30, null, 79UL << 30, 0);
        var telemetry = Create();

        var gpu = Gpu(telemetry.Sample(), 0);

        Assert.Equal(0UL, gpu.MemoryUsedBytes);
        Assert.Equal(80UL << 30, gpu.MemoryTotalBytes);
        Assert.Equal(79UL << 30, gpu.MemoryFreeBytes);
        Assert.Equal(["memoryUsedBytes"], gpu.UnavailableFields);
    }

    [Fact]
    public void Sample_ProcessesListedOnlyEveryProcessInterval()
    {
        var telemetry = Create(processIntervalMs: 5000);
        _nvml.Gpus[0].Processes.Add(new Nvml.GpuProcess(1, 0));

        telemetry.Sample();
        _time.Advance(TimeSpan.FromSeconds(1));
        _nvml.Gpus[0].Processes.Add(new Nvml.GpuProcess(2, 0));
        var between = telemetry.Sample();
        _time.Advance(TimeSpan.FromSeconds(4));
        var after = telemetry.Sample();

        Assert.Equal(2, _nvml.Gpus[0].ProcessCalls);
        Assert.Single(Gpu(between, 0).Processes);
        Assert.Equal(2, Gpu(after, 0).Processes.Count);
    }

    [Theory]
    [InlineData(NvmlReturn.LibraryNotFound, "library not found: ")]
    [InlineData(NvmlReturn.DriverNotLoaded, "driver not loaded")]
    [InlineData(NvmlReturn.LibRmVersionMismatch, "driver/library version mismatch")]
    [InlineData(NvmlReturn.NoPermission, "no permission to use NVML")]
    public void Sample_NvmlUnavailable_SaysWhyAndHasNoGpus(NvmlReturn code, string reason)
    {
        _nvml.InitError = new NvmlError(code, "the text", "nvmlInit_v2");
        var telemetry = Create();

        var sample = telemetry.Sample();

        Assert.False(sample.Status.Available);
        Assert.StartsWith(reason, sample.Status.Reason, StringComparison.Ordinal);
        Assert.Empty(sample.Gpus);
        Assert.True(telemetry.NeedsProbe);
    }

    /// <summary>A call saying NVML is no longer initialised, or the driver went: NVML is shut down at once and initialised again after the back-off.</summary>
    [Theory]
    [InlineData(NvmlReturn.Uninitialized)]
    [InlineData(NvmlReturn.DriverNotLoaded)]
    [InlineData(NvmlReturn.LibRmVersionMismatch)]
    public void Sample_CallSaysNvmlIsGone_RecoversAtOnceAndTheGpusAreUnavailable(NvmlReturn code)
    {
        var telemetry = Create();
        _nvml.Gpus[0].Failing = code;

        var sample = telemetry.Sample();

        Assert.Equal(1, _nvml.Shutdowns);
        Assert.False(sample.Status.Available);
        Assert.Contains($"a call answered", sample.Status.Reason, StringComparison.Ordinal);
        Assert.Equal([GpuHealth.Unavailable, GpuHealth.Unavailable], telemetry.Sample().Gpus.Select(g => g.Health));
    }

    /// <summary>One GPU failing leaves NVML alone while another answers; every GPU silent for three samples shuts it down, and the back-off doubles while nothing answers.</summary>
    [Fact]
    public void Sample_EveryGpuSilent_RecoversAfterThreeSamplesWithADoublingBackOff()
    {
        var interval = new AgentOptions().GpuReprobeInterval;
        var telemetry = Create();
        _nvml.Gpus[0].Failing = NvmlReturn.Unknown;
        for (var i = 0; i < 5; i++)
        {
            telemetry.Sample();
        }

        Assert.Equal(0, _nvml.Shutdowns);

        _nvml.Gpus[1].Failing = NvmlReturn.GpuIsLost;
        telemetry.Sample();
        telemetry.Sample();
        Assert.Equal(0, _nvml.Shutdowns);
        telemetry.Sample();
        Assert.Equal(1, _nvml.Shutdowns);

        // Initialised again after one interval; still silent: the next back-off is two intervals.
        _time.Advance(interval);
        Assert.True(telemetry.NeedsProbe);
        telemetry.Probe();
        for (var i = 0; i < GpuTelemetry.SilentSamplesBeforeRecovery; i++)
        {
            telemetry.Sample();
        }

        Assert.Equal(2, _nvml.Shutdowns);
        _time.Advance(interval);
        Assert.False(telemetry.NeedsProbe);
        _time.Advance(interval);
        Assert.True(telemetry.NeedsProbe);
    }

    [Fact]
    public void Probe_NvmlAppearsLater_BecomesAvailable()
    {
        _nvml.InitError = new NvmlError(NvmlReturn.DriverNotLoaded, "Driver Not Loaded", "nvmlInit_v2");
        var telemetry = Create();

        _nvml.InitError = null;
        telemetry.Probe();

        Assert.True(telemetry.Status.Available);
        Assert.Equal(2, telemetry.Inventory().Count);
    }

    [Fact]
    public void Sample_InstanceReportsWork_QueueIsReportedOtherGpuEstimated()
    {
        var telemetry = Create();
        _reported.Report("instance-a", "GPU-0000", submitted: 10, completed: 7);

        var sample = telemetry.Sample();

        Assert.Equal(3.0, Gpu(sample, 0).CommandQueueLength);
        Assert.Equal(CommandQueueSource.Reported, Gpu(sample, 0).CommandQueueSource);
        Assert.Equal(CommandQueueSource.Estimated, Gpu(sample, 1).CommandQueueSource);
    }

    /// <summary>
    /// Each GPU's queue length with its source and age: reported (the newest report's age) until the reports go
    /// stale, then estimated (the process list's age); unknown, never a zero that reads as idle, where NVML gives
    /// no utilization (a MIG GPU).
    /// </summary>
    [Fact]
    public void Sample_QueueLength_SourceAndAgeAndUnknownWithoutUtilization()
    {
        _nvml.Gpus[1].Unsupported.Add("nvmlDeviceGetUtilizationRates");
        _nvml.Gpus[1].Activity = null; // and no GPM
        var telemetry = Create();
        telemetry.Sample(); // lists the processes
        _time.Advance(TimeSpan.FromSeconds(2));
        _reported.Report("instance-a", "GPU-0000", submitted: 10, completed: 7);
        _time.Advance(TimeSpan.FromSeconds(1));

        var reported = telemetry.Sample();
        _time.Advance(TimeSpan.FromSeconds(5));
        var stale = telemetry.Sample();

        Assert.Equal((3.0, CommandQueueSource.Reported, 1000u), (Gpu(reported, 0).CommandQueueLength, Gpu(reported, 0).CommandQueueSource, Gpu(reported, 0).CommandQueueAgeMs));
        Assert.Equal((CommandQueueSource.Estimated, 8000u), (Gpu(stale, 0).CommandQueueSource, Gpu(stale, 0).CommandQueueAgeMs));
        Assert.Equal((0.0, CommandQueueSource.Unknown), (Gpu(stale, 1).CommandQueueLength, Gpu(stale, 1).CommandQueueSource));
    }
}
