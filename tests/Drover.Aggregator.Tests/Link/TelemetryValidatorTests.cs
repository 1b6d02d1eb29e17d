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
        xid.Health = GpuHealth.Xid;
        xid.Xid = 79;
        xid.Processes.Add(new Protocol.V1.GpuProcess { Pid = 7, UsedMemoryBytes = 9 });

        var (report, error) = TelemetryValidator.Telemetry(Telemetry(Sample("GPU-a"), xid), receivedAt: 123);

        Assert.Null(error);
        Assert.NotNull(report);
        Assert.Equal(123, report.ReceivedAt);
        Assert.Equal("available", report.Status.Display);
        var gpu = report.Gpus[1];
        Assert.Equal(GpuHealthState.Xid, gpu.Health);
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

    public static TheoryData<string, Func<Protocol.V1.Telemetry>> BadTelemetry => new()
    {
        { "at most 64", () => Telemetry(Enumerable.Range(0, 65).Select(i => Sample($"GPU-{i}", (uint)i)).ToArray()) },
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
