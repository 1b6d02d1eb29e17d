using Drover.Agent.Configuration;
using Drover.Agent.Telemetry;
using Drover.Nvml;
using Drover.Nvml.Tests.Fakes;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Agent.Tests.Telemetry;

/// <summary>
/// The sampler through the real NVML binding on the stand-in library: each error a GPU can answer every call
/// with (the scenario's <c>gpu.&lt;i&gt;.state</c>) and each kind of XID the stand-in raises, as the sample reports them.
/// </summary>
[Collection(FakeNvmlCollection.Name)]
public sealed class GpuTelemetryStandInTests(FakeNvmlFixture fixture)
{
    private readonly FakeTimeProvider _time = new();

    /// <summary>GPU 1's state; its health on the first and on the second sample; a word its reason holds.</summary>
    public static TheoryData<string, GpuHealth, GpuHealth, string> States => new()
    {
        { "ok", GpuHealth.Ok, GpuHealth.Ok, "" },
        { "reset_required", GpuHealth.Unhealthy, GpuHealth.Unhealthy, "RESET_REQUIRED" },
        { "unknown", GpuHealth.Degraded, GpuHealth.Unhealthy, "UNKNOWN" },
        { "not_ready", GpuHealth.Unhealthy, GpuHealth.Unhealthy, "NOT_READY" },
        { "lost", GpuHealth.Lost, GpuHealth.Lost, "GPU_IS_LOST" },
        { "not_supported", GpuHealth.Ok, GpuHealth.Ok, "" },
    };

    [Theory]
    [MemberData(nameof(States))]
    public void Sample_GpuAnsweringState_ReportsHealthAndLeavesTheOtherOk(string state, GpuHealth first, GpuHealth second, string reasonHolds)
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var telemetry = Create(nvml, new GpuHealthBoard(_time, TimeSpan.FromSeconds(300)));
        scenario.Write(Scenario.TwoGpus($"gpu.1.state={state}"));

        var one = telemetry.Sample();
        var two = telemetry.Sample();

        Assert.Equal((first, second), (Gpu(one, 1).Health, Gpu(two, 1).Health));
        Assert.Contains(reasonHolds, Gpu(two, 1).HealthReason, StringComparison.Ordinal);
        Assert.Equal(GpuHealth.Ok, Gpu(two, 0).Health);
        Assert.Equal(35U, Gpu(two, 0).UtilizationGpuPercent);
        if (second is GpuHealth.Unhealthy)
        {
            // What used to rank the broken GPU first: zeros. They are still zeros, but no longer "ok".
            Assert.Equal(0UL, Gpu(two, 1).MemoryTotalBytes);
            Assert.Contains("memory", Gpu(two, 1).UnavailableFields);
        }
    }

    [Theory]
    [InlineData(79U, GpuHealth.Unhealthy)]
    [InlineData(48U, GpuHealth.Unhealthy)]
    [InlineData(119U, GpuHealth.Unhealthy)]
    [InlineData(45U, GpuHealth.Ok)]
    [InlineData(13U, GpuHealth.Ok)]
    [InlineData(62U, GpuHealth.Degraded)]
    public void Sample_XidRaisedByTheStandIn_ReportsHealthByItsKind(uint xid, GpuHealth expected)
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var board = new GpuHealthBoard(_time, TimeSpan.FromSeconds(300));
        var telemetry = Create(nvml, board);
        using var events = nvml.CreateEventSet(telemetry.Devices, XidEventLoop.WatchedEvents).Value;

        scenario.Write(Scenario.TwoGpus($"gpu.1.xid={xid}"));
        var raised = events.Wait(TimeSpan.FromSeconds(5));
        Assert.True(raised.TryGetValue(out var gpuEvent) && gpuEvent is not null, raised.ToString());
        board.Record(gpuEvent.Value.Uuid, XidEventLoop.XidOf(gpuEvent.Value));

        var sample = telemetry.Sample();
        Assert.Equal(expected, Gpu(sample, 1).Health);
        Assert.Equal(xid, Gpu(sample, 1).Xid);
        Assert.Equal(GpuHealth.Ok, Gpu(sample, 0).Health);
        Assert.Equal(0U, Gpu(sample, 0).Xid);
    }

    [Fact]
    public void CreateEventSet_OneGpuNeedsAReset_StillWatchesTheOther()
    {
        using var scenario = new Scenario(Scenario.TwoGpus("gpu.0.state=reset_required"));
        using var nvml = fixture.Create(scenario);
        var board = new GpuHealthBoard(_time, TimeSpan.FromSeconds(300));
        var telemetry = Create(nvml, board);

        var created = nvml.CreateEventSet(telemetry.Devices, XidEventLoop.WatchedEvents);

        Assert.True(created.IsSuccess, created.ToString());
        using var events = created.Value;
        scenario.Write(Scenario.TwoGpus("gpu.0.state=reset_required\ngpu.1.xid=79"));
        var raised = events.Wait(TimeSpan.FromSeconds(5));
        Assert.True(raised.TryGetValue(out var gpuEvent) && gpuEvent is not null, raised.ToString());
        Assert.Equal("GPU-11111111-1111-1111-1111-111111111111", gpuEvent.Value.Uuid);
    }

    /// <summary>
    /// A driver reloaded under the agent's NVML (the stand-in's <c>driver_epoch</c>): every GPU answers GPU_IS_LOST
    /// to the old initialisation, and enumerating again under it never brings them back. After three silent
    /// samples the agent shuts NVML down, reports its GPUs unavailable (not lost) through the back-off, and the
    /// next probe initialises NVML again: the GPUs are back, on the new driver, without a restart.
    /// </summary>
    [Fact]
    public void Sample_DriverReloadedUnderNvml_ShutsDownBacksOffAndInitialisesAgain()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var telemetry = Create(nvml, new GpuHealthBoard(_time, TimeSpan.FromSeconds(300)));
        var generation = telemetry.Generation;
        scenario.Write(Scenario.TwoGpus().Replace("driver_version=550.54.15", "driver_version=535.104.05\ndriver_epoch=1", StringComparison.Ordinal));

        var silent = Enumerable.Range(0, GpuTelemetry.SilentSamplesBeforeRecovery - 1).Select(_ => telemetry.Sample()).ToArray();
        telemetry.Probe(); // a re-probe under the old initialisation finds nothing
        var recovering = telemetry.Sample();

        Assert.All(silent, s => Assert.All(s.Gpus, g => Assert.Equal(GpuHealth.Lost, g.Health)));
        Assert.False(recovering.Status.Available);
        Assert.StartsWith("NVML shut down to recover: no GPU answered any call for 3 samples", recovering.Status.Reason, StringComparison.Ordinal);
        Assert.All(recovering.Gpus, g => Assert.Equal(GpuHealth.Unavailable, g.Health));
        Assert.Equal(2, recovering.Gpus.Count);
        Assert.False(telemetry.NeedsProbe);

        _time.Advance(new AgentOptions().GpuReprobeInterval);
        Assert.True(telemetry.NeedsProbe);
        telemetry.Probe();
        var back = telemetry.Sample();

        Assert.True(back.Status.Available);
        Assert.Equal("535.104.05", back.Status.DriverVersion);
        Assert.All(back.Gpus, g => Assert.Equal(GpuHealth.Ok, g.Health));
        Assert.NotEqual(generation, telemetry.Generation);
    }

    [Fact]
    public void Probe_SameGpusFoundAgain_KeepsTheEventSetGeneration()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var telemetry = Create(nvml, new GpuHealthBoard(_time, TimeSpan.FromSeconds(300)));
        var generation = telemetry.Generation;

        telemetry.Probe();
        Assert.Equal(generation, telemetry.Generation);

        scenario.Write(Scenario.TwoGpus("gpu.1.state=lost"));
        telemetry.Probe();
        Assert.NotEqual(generation, telemetry.Generation);
    }

    /// <summary>
    /// The operators' fields through the real binding: each read into the sample, a hardware thermal slowdown or a
    /// pending remap making the GPU degraded, a failed remap unhealthy, and fields a GPU does not support named.
    /// </summary>
    [Fact]
    public void Sample_OperatorFields_ReportedAndReadIntoHealth()
    {
        using var scenario = new Scenario(Scenario.TwoGpus("""
            gpu.0.clock_sm=1410
            gpu.0.clock_event_reasons=0x44
            gpu.0.energy_mj=5000
            gpu.0.pcie_replays=9
            gpu.0.ecc_corrected=4
            gpu.0.util_encoder=11
            gpu.1.remap_failure=1
            gpu.1.unsupported=encoder,decoder,ecc
            """));
        using var nvml = fixture.Create(scenario);
        var telemetry = Create(nvml, new GpuHealthBoard(_time, TimeSpan.FromSeconds(300)));

        var sample = telemetry.Sample();

        var hot = Gpu(sample, 0);
        Assert.Equal((1410u, 2619u, 0x44UL, 5000UL, 9u, 4UL, 11u), (hot.SmClockMhz, hot.MemoryClockMhz, hot.ClockEventReasons, hot.EnergyMillijoules, hot.PcieReplays, hot.EccCorrectedErrors, hot.EncoderUtilizationPercent));
        Assert.Equal(536870912UL, hot.MemoryReservedBytes);
        Assert.Equal(hot.MemoryTotalBytes, hot.MemoryUsedBytes + hot.MemoryFreeBytes + hot.MemoryReservedBytes);
        Assert.Equal(GpuHealth.Degraded, hot.Health);
        Assert.Contains("hardware thermal slowdown", hot.HealthReason, StringComparison.Ordinal);
        Assert.Equal(["gpmActivity"], hot.UnavailableFields); // the stand-in's GPUs offer no GPM unless the scenario says so

        var failed = Gpu(sample, 1);
        Assert.Equal(GpuHealth.Unhealthy, failed.Health);
        Assert.True(failed.RemapFailure);
        Assert.Equal(["gpmActivity", "encoderUtilizationPercent", "decoderUtilizationPercent", "eccCorrectedErrors", "eccUncorrectedErrors"], failed.UnavailableFields);

        // The slow fields stay with the sample between their reads, and so do the names of those unsupported.
        var next = telemetry.Sample();
        Assert.Equal(9u, Gpu(next, 0).PcieReplays);
        Assert.Contains("eccCorrectedErrors", Gpu(next, 1).UnavailableFields);
        Assert.Equal(GpuHealth.Unhealthy, Gpu(next, 1).Health);
    }

    private GpuTelemetry Create(INvml nvml, GpuHealthBoard board)
        => new(nvml, board, new ReportedGpuWork(), new AgentOptions { ServerNumber = 1 }, _time, NullLogger<GpuTelemetry>.Instance);

    private static GpuSample Gpu(Protocol.V1.Telemetry telemetry, int index) => telemetry.Gpus.Single(g => g.Gpu.Index == index);
}
