using Drover.Aggregator.Fleet;
using Drover.Aggregator.Link;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Tests.Link;

public class TelemetryValidatorTests
{
    private static GpuSample Sample(string uuid, uint index = 0) => new()
    {
        Gpu = new GpuInfo { Index = index, Uuid = uuid, Name = "H100", PciBusId = "00000000:17:00.0" },
        Health = GpuHealth.Ok,
        MemoryTotalBytes = 100,
        MemoryUsedBytes = 40,
        MemoryFreeBytes = 60,
        UtilizationGpuPercent = 30,
        CommandQueueLength = 0.3,
        CommandQueueSource = CommandQueueSource.Estimated,
    };

    /// <summary>A MIG instance of <paramref name="parent"/>, as the agent sends it after its GPU.</summary>
    private static GpuSample Mig(string uuid, string parent, string profile = "1g.10gb", uint index = 0)
    {
        var sample = Sample(uuid, index);
        sample.Gpu.ParentUuid = parent;
        sample.Gpu.MigProfile = profile;
        sample.Gpu.GpuInstanceId = 7;
        sample.Gpu.ComputeInstanceId = 1;
        sample.CommandQueueSource = CommandQueueSource.Unknown;
        return sample;
    }

    /// <summary>A whole GPU with MIG enabled.</summary>
    private static GpuSample Parent(string uuid)
    {
        var sample = Sample(uuid);
        sample.MigEnabled = true;
        return sample;
    }

    private static Protocol.V1.Telemetry Telemetry(params GpuSample[] gpus)
    {
        var telemetry = new Protocol.V1.Telemetry { Status = new GpuTelemetryStatus { Available = true, DriverVersion = "550.54.15" } };
        telemetry.Gpus.Add(gpus);
        return telemetry;
    }

    [Fact]
    public void Telemetry_Good_IsConvertedToFleetState()
    {
        var xid = Sample("GPU-b", 1);
        xid.Health = GpuHealth.Unhealthy;
        xid.HealthReason = "hardware XID 79 (fallen off the bus)";
        xid.Xid = 79;
        xid.Processes.Add(new Protocol.V1.GpuProcess { Pid = 7, UsedMemoryBytes = 9 });

        var (report, error) = TelemetryValidator.Telemetry(Telemetry(Sample("GPU-a"), xid), receivedAt: 123);

        Assert.Null(error);
        Assert.NotNull(report);
        Assert.Equal(123, report.ReceivedAt);
        Assert.Equal("available", report.Status.Display);
        var gpu = report.Gpus[1];
        Assert.Equal(GpuHealthState.Unhealthy, gpu.Health);
        Assert.Equal("hardware XID 79 (fallen off the bus)", gpu.HealthReason);
        Assert.Equal(79U, gpu.Xid);
        Assert.Equal(new GpuProcessState(7, 9), Assert.Single(gpu.Processes));
        Assert.Equal("estimated", gpu.CommandQueueSource);
    }

    [Fact]
    public void Telemetry_ProcessMemoryAbsentOrNotAvailable_IsUnknown()
    {
        var sample = Sample("GPU-a");
        sample.Processes.Add(new Protocol.V1.GpuProcess { Pid = 7 });
        sample.Processes.Add(new Protocol.V1.GpuProcess { Pid = 8, UsedMemoryBytes = ulong.MaxValue });
        sample.Processes.Add(new Protocol.V1.GpuProcess { Pid = 9, UsedMemoryBytes = 0 });

        var (report, error) = TelemetryValidator.Telemetry(Telemetry(sample), receivedAt: 123);

        Assert.Null(error);
        Assert.Equal([new GpuProcessState(7, null), new GpuProcessState(8, null), new GpuProcessState(9, 0)], report!.Gpus[0].Processes);
    }

    [Theory]
    [InlineData(GpuHealth.Ok, "Ok")]
    [InlineData(GpuHealth.Degraded, "Degraded")]
    [InlineData(GpuHealth.Unhealthy, "Unhealthy")]
    [InlineData(GpuHealth.Lost, "Lost")]
    [InlineData(GpuHealth.Unavailable, "Unavailable")]
    [InlineData(GpuHealth.Xid, "Unhealthy")]
    public void Telemetry_Health_IsTheFleetStatesHealth(GpuHealth sent, string expected)
    {
        var sample = Sample("GPU-a");
        sample.Health = sent;

        var (report, error) = TelemetryValidator.Telemetry(Telemetry(sample), receivedAt: 1);

        Assert.Null(error);
        Assert.Equal(expected, Assert.Single(report!.Gpus).Health.ToString());
    }

    [Fact]
    public void Telemetry_OperatorFields_KeptWithReasonsByName()
    {
        var sample = Sample("GPU-a");
        sample.SmClockMhz = 1410;
        sample.ClockEventReasons = 0x44 | 0x4000;
        sample.EccUncorrectedErrors = 2;
        sample.EncoderUtilizationPercent = 250;
        sample.RemapPending = true;

        var counters = Assert.Single(TelemetryValidator.Telemetry(Telemetry(sample), receivedAt: 1).Report!.Gpus).Counters!;

        Assert.Equal((1410u, 2UL, 100u, true), (counters.SmClockMhz, counters.EccUncorrectedErrors, counters.EncoderUtilizationPercent, counters.RemapPending));
        Assert.Equal(["swPowerCap", "hwThermalSlowdown", "0x4000"], counters.ClockEventReasonNames());
    }

    [Fact]
    public void Telemetry_XidFromAnOlderAgent_IsUnhealthyWithAReason()
    {
        var sample = Sample("GPU-a");
        sample.Health = GpuHealth.Xid;
        sample.Xid = 45;

        var gpu = Assert.Single(TelemetryValidator.Telemetry(Telemetry(sample), receivedAt: 1).Report!.Gpus);

        Assert.Equal(GpuHealthState.Unhealthy, gpu.Health);
        Assert.StartsWith("XID 45 (reported by an agent without the health model", gpu.HealthReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Telemetry_MigInstances_KeepTheirParentProfileAndIds()
    {
        var (report, error) = TelemetryValidator.Telemetry(Telemetry(Sample("GPU-a"), Parent("GPU-b"), Mig("MIG-b1", "GPU-b"), Mig("MIG-b2", "GPU-b", "")), receivedAt: 1);

        Assert.Null(error);
        Assert.Equal([null, null, new GpuMig("GPU-b", "1g.10gb", 7, 1), new GpuMig("GPU-b", "", 7, 1)], report!.Gpus.Select(g => g.Mig));
        Assert.True(report.Gpus[1].MigEnabled);
        Assert.Equal("unknown", report.Gpus[2].CommandQueueSource);
    }

    [Fact]
    public void Telemetry_512Gpus_64WithSevenMigInstancesEach_IsAccepted()
    {
        var gpus = Enumerable.Range(0, 64).SelectMany(g => new[] { Parent($"GPU-{g}") }.Concat(Enumerable.Range(0, 7).Select(m => Mig($"MIG-{g}-{m}", $"GPU-{g}", index: (uint)g)))).ToArray();

        var (report, error) = TelemetryValidator.Telemetry(Telemetry(gpus), receivedAt: 1);

        Assert.Null(error);
        Assert.Equal(512, report!.Gpus.Count);
    }

    [Fact]
    public void Inventory_MigInstanceOfAnotherGpu_IsRefusedForHelloToo()
    {
        var error = TelemetryValidator.Inventory([new GpuInfo { Uuid = "MIG-a1", ParentUuid = "GPU-x" }], "gpus");

        Assert.Equal("gpus.parentUuid of GPU 'MIG-a1' = 'GPU-x' names no whole GPU of this node; expected the uuid of another entry of gpus without a parentUuid", error);
    }

    public static TheoryData<string, Func<Protocol.V1.Telemetry>> BadTelemetry => new()
    {
        { "healthReason of GPU 'GPU-a' is 257 characters", () => { var s = Sample("GPU-a"); s.HealthReason = new string('r', 257); return Telemetry(s); } },
        { "is 9; expected ok, degraded", () => { var s = Sample("GPU-a"); s.Health = (GpuHealth)9; return Telemetry(s); } },
        { "has 513 GPUs; expected at most 512", () => Telemetry(Enumerable.Range(0, 513).Select(i => Sample($"GPU-{i}", (uint)i)).ToArray()) },
        { "telemetry.gpus.migProfile of GPU 'MIG-a1' = 'ppppppppppppppppppppppppppppppppp'; expected at most 32 characters of printable ASCII without spaces", () => Telemetry(Parent("GPU-a"), Mig("MIG-a1", "GPU-a", new string('p', 33))) },
        { "telemetry.gpus.migProfile of GPU 'MIG-a1' = '1g 10gb'; expected at most 32", () => Telemetry(Parent("GPU-a"), Mig("MIG-a1", "GPU-a", "1g 10gb")) },
        { "telemetry.gpus.migProfile of GPU 'MIG-a1' = '1g.10gb\n'", () => Telemetry(Parent("GPU-a"), Mig("MIG-a1", "GPU-a", "1g.10gb\n")) },
        { "telemetry.gpus.migProfile of GPU 'MIG-a1' = '1g.10gbé'", () => Telemetry(Parent("GPU-a"), Mig("MIG-a1", "GPU-a", "1g.10gbé")) },
        { "telemetry.gpus.parentUuid of GPU 'MIG-a1' is 97 characters; expected at most 96", () => Telemetry(Parent("GPU-a"), Mig("MIG-a1", new string('G', 97))) },
        { "telemetry.gpus.parentUuid of GPU 'MIG-a1' is its own uuid", () => Telemetry(Mig("MIG-a1", "MIG-a1")) },
        { "telemetry.gpus.parentUuid of GPU 'MIG-a1' = 'GPU-b' names no whole GPU of this node", () => Telemetry(Parent("GPU-a"), Mig("MIG-a1", "GPU-b")) },
        { "telemetry.gpus.parentUuid of GPU 'MIG-a2' = 'MIG-a1' names no whole GPU of this node", () => Telemetry(Parent("GPU-a"), Mig("MIG-a1", "GPU-a"), Mig("MIG-a2", "MIG-a1")) },
        { "appears twice", () => Telemetry(Sample("GPU-a"), Sample("GPU-a", 1)) },
        { "uuid = ''", () => Telemetry(new GpuSample { Health = GpuHealth.Ok }) },
        { "expected 0-100", () => { var s = Sample("GPU-a"); s.UtilizationGpuPercent = 101; return Telemetry(s); } },
        { "finite number", () => { var s = Sample("GPU-a"); s.CommandQueueLength = double.NaN; return Telemetry(s); } },
        { "finite number", () => { var s = Sample("GPU-a"); s.CommandQueueLength = -1; return Telemetry(s); } },
        { "unspecified", () => { var s = Sample("GPU-a"); s.Health = GpuHealth.Unspecified; return Telemetry(s); } },
        { "at most 1024", () => { var s = Sample("GPU-a"); s.Processes.Add(Enumerable.Range(0, 1025).Select(i => new Protocol.V1.GpuProcess { Pid = (uint)i })); return Telemetry(s); } },
        { "reason is 513", () => { var t = Telemetry(); t.Status.Reason = new string('r', 513); return t; } },
    };

    [Theory]
    [MemberData(nameof(BadTelemetry))]
    public void Telemetry_Bad_IsRefusedNamingWhy(string expected, Func<Protocol.V1.Telemetry> make)
    {
        var (report, error) = TelemetryValidator.Telemetry(make(), receivedAt: 1);

        Assert.Null(report);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_Unavailable_DisplaysTheReason()
    {
        var (status, _) = TelemetryValidator.Status(new GpuTelemetryStatus { Available = false, Reason = "driver not loaded" }, "gpuTelemetry");

        Assert.Equal("unavailable (driver not loaded)", status!.Display);
    }
}
