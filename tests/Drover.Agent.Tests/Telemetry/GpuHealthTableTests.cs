using Drover.Agent.Telemetry;
using Drover.Nvml;
using Drover.Protocol.V1;

namespace Drover.Agent.Tests.Telemetry;

public class GpuHealthTableTests
{
    private const NvmlReturn Lost = NvmlReturn.GpuIsLost;
    private const NvmlReturn Reset = NvmlReturn.ResetRequired;
    private const NvmlReturn Unknown = NvmlReturn.Unknown;
    private const NvmlReturn NotReady = NvmlReturn.NotReady;

    /// <summary>
    /// One row per case: the worst health error of the sample (null: none), UNKNOWN samples in a row, the held
    /// hardware, application and unclassified XIDs (0: none); then the expected health, XID reported and a word the
    /// reason must hold.
    /// </summary>
    public static TheoryData<string, NvmlReturn?, int, uint, uint, uint, GpuHealth, uint, string> Rows => new()
    {
        { "nothing wrong", null, 0, 0, 0, 0, GpuHealth.Ok, 0, "" },
        { "GPU_IS_LOST", Lost, 0, 0, 0, 0, GpuHealth.Lost, 0, "GPU_IS_LOST" },
        { "lost beats a hardware XID", Lost, 0, 79, 0, 0, GpuHealth.Lost, 0, "GPU_IS_LOST" },
        { "RESET_REQUIRED", Reset, 0, 0, 0, 0, GpuHealth.Unhealthy, 0, "RESET_REQUIRED" },
        { "RESET_REQUIRED with a hardware XID names the reset, keeps the XID", Reset, 0, 48, 0, 0, GpuHealth.Unhealthy, 48, "RESET_REQUIRED" },
        { "UNKNOWN once: a glitch", Unknown, 1, 0, 0, 0, GpuHealth.Degraded, 0, "UNKNOWN" },
        { "UNKNOWN twice in a row", Unknown, 2, 0, 0, 0, GpuHealth.Unhealthy, 0, "2 samples in a row" },
        { "UNKNOWN five times in a row", Unknown, 5, 0, 0, 0, GpuHealth.Unhealthy, 0, "5 samples in a row" },
        { "NOT_READY", NotReady, 0, 0, 0, 0, GpuHealth.Unhealthy, 0, "NOT_READY" },
        { "XID 48 double-bit ECC", null, 0, 48, 0, 0, GpuHealth.Unhealthy, 48, "double-bit ECC" },
        { "XID 63 row remapping", null, 0, 63, 0, 0, GpuHealth.Unhealthy, 63, "row remapping" },
        { "XID 64 row remapping failure", null, 0, 64, 0, 0, GpuHealth.Unhealthy, 64, "row remapping failure" },
        { "XID 74 NVLink", null, 0, 74, 0, 0, GpuHealth.Unhealthy, 74, "NVLink" },
        { "XID 79 off the bus", null, 0, 79, 0, 0, GpuHealth.Unhealthy, 79, "fallen off the bus" },
        { "XID 92 single-bit ECC rate", null, 0, 92, 0, 0, GpuHealth.Unhealthy, 92, "single-bit ECC" },
        { "XID 94 contained ECC", null, 0, 94, 0, 0, GpuHealth.Unhealthy, 94, "contained ECC" },
        { "XID 95 uncontained ECC", null, 0, 95, 0, 0, GpuHealth.Unhealthy, 95, "uncontained ECC" },
        { "XID 119 GSP timeout", null, 0, 119, 0, 0, GpuHealth.Unhealthy, 119, "GSP" },
        { "XID 120 GSP error", null, 0, 120, 0, 0, GpuHealth.Unhealthy, 120, "GSP" },
        { "hardware XID beats a later application XID", null, 0, 79, 45, 0, GpuHealth.Unhealthy, 79, "hardware XID 79" },
        { "hardware XID beats one UNKNOWN", Unknown, 1, 94, 0, 0, GpuHealth.Unhealthy, 94, "hardware XID 94" },
        { "XID 13 graphics exception: recorded, ok", null, 0, 0, 13, 0, GpuHealth.Ok, 13, "application XID 13" },
        { "XID 31 page fault: recorded, ok", null, 0, 0, 31, 0, GpuHealth.Ok, 31, "application XID 31" },
        { "XID 43 channel stopped: recorded, ok", null, 0, 0, 43, 0, GpuHealth.Ok, 43, "application XID 43" },
        { "XID 45 after a kill: recorded, ok", null, 0, 0, 45, 0, GpuHealth.Ok, 45, "preemptive cleanup" },
        { "unclassified XID 62", null, 0, 0, 0, 62, GpuHealth.Degraded, 62, "XID 62" },
        { "unclassified XID beats an application XID", null, 0, 0, 45, 999, GpuHealth.Degraded, 999, "XID 999" },
        { "NOT_READY beats an unclassified XID", NotReady, 0, 0, 0, 62, GpuHealth.Unhealthy, 0, "NOT_READY" },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Classify_Row_GivesHealthReasonAndXid(
        string name, NvmlReturn? error, int unknownStreak, uint hardware, uint application, uint unclassified,
        GpuHealth health, uint xid, string reasonHolds)
    {
        var held = new HeldXids(NoneIfZero(hardware), NoneIfZero(application), NoneIfZero(unclassified));

        var verdict = GpuHealthTable.Classify(new GpuHealthInputs(error, unknownStreak, held));

        Assert.True(health == verdict.Health, $"{name}: expected {health}, got {verdict.Health} ('{verdict.Reason}')");
        Assert.Equal(xid, verdict.Xid);
        Assert.Contains(reasonHolds, verdict.Reason, StringComparison.Ordinal);
        Assert.Equal(health == GpuHealth.Ok && xid == 0, verdict.Reason.Length == 0);
    }

    /// <summary>Clock event reasons and row remapping, as rows: what they make of an otherwise sound GPU, and what beats them.</summary>
    public static TheoryData<string, ulong, bool, bool, NvmlReturn?, uint, GpuHealth, string> CounterRows => new()
    {
        { "power cap alone: normal under load", 0x4, false, false, null, 0, GpuHealth.Ok, "" },
        { "idle", 0x1, false, false, null, 0, GpuHealth.Ok, "" },
        { "hardware slowdown", 0x8, false, false, null, 0, GpuHealth.Degraded, "hardware slowdown" },
        { "software thermal", 0x20, false, false, null, 0, GpuHealth.Degraded, "software thermal slowdown" },
        { "hardware thermal and power cap", 0x44, false, false, null, 0, GpuHealth.Degraded, "hardware thermal slowdown" },
        { "power brake", 0x80, false, false, null, 0, GpuHealth.Degraded, "power brake" },
        { "remap pending", 0, true, false, null, 0, GpuHealth.Degraded, "row remap is pending" },
        { "remap failure", 0, false, true, null, 0, GpuHealth.Unhealthy, "row remap failed" },
        { "remap failure beats a slowdown", 0x40, true, true, null, 0, GpuHealth.Unhealthy, "row remap failed" },
        { "a hardware XID beats a slowdown", 0x40, false, false, null, 79, GpuHealth.Unhealthy, "hardware XID 79" },
        { "RESET_REQUIRED beats a remap failure", 0, false, true, NvmlReturn.ResetRequired, 0, GpuHealth.Unhealthy, "RESET_REQUIRED" },
    };

    [Theory]
    [MemberData(nameof(CounterRows))]
    public void Classify_CounterRow_GivesHealthAndReason(string name, ulong reasons, bool pending, bool failed, NvmlReturn? error, uint hardware, GpuHealth health, string reasonHolds)
    {
        var inputs = new GpuHealthInputs(error, 0, new HeldXids(NoneIfZero(hardware), null, null), (GpuClockEventReasons)reasons, new GpuRemappedRows(0, 0, pending, failed));

        var verdict = GpuHealthTable.Classify(inputs);

        Assert.True(health == verdict.Health, $"{name}: expected {health}, got {verdict.Health} ('{verdict.Reason}')");
        Assert.Contains(reasonHolds, verdict.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(48U, "Hardware")]
    [InlineData(63U, "Hardware")]
    [InlineData(64U, "Hardware")]
    [InlineData(74U, "Hardware")]
    [InlineData(79U, "Hardware")]
    [InlineData(92U, "Hardware")]
    [InlineData(94U, "Hardware")]
    [InlineData(95U, "Hardware")]
    [InlineData(119U, "Hardware")]
    [InlineData(120U, "Hardware")]
    [InlineData(13U, "Application")]
    [InlineData(31U, "Application")]
    [InlineData(43U, "Application")]
    [InlineData(45U, "Application")]
    [InlineData(62U, "Unclassified")]
    [InlineData(999U, "Unclassified")]
    public void KindOf_Xid_IsOnItsList(uint xid, string expected) => Assert.Equal(expected, GpuHealthTable.KindOf(xid).ToString());

    [Theory]
    [InlineData(NvmlReturn.GpuIsLost, true)]
    [InlineData(NvmlReturn.ResetRequired, true)]
    [InlineData(NvmlReturn.Unknown, true)]
    [InlineData(NvmlReturn.NotReady, true)]
    [InlineData(NvmlReturn.NotSupported, false)]
    [InlineData(NvmlReturn.NoPermission, false)]
    [InlineData(NvmlReturn.InsufficientSize, false)]
    public void IsHealthError_Code_SaysWhetherTheGpuIsUnwell(NvmlReturn code, bool expected)
        => Assert.Equal(expected, GpuHealthTable.IsHealthError(code));

    [Theory]
    [InlineData(null, NvmlReturn.NotReady, NvmlReturn.NotReady)]
    [InlineData(NvmlReturn.NotReady, NvmlReturn.Unknown, NvmlReturn.Unknown)]
    [InlineData(NvmlReturn.Unknown, NvmlReturn.ResetRequired, NvmlReturn.ResetRequired)]
    [InlineData(NvmlReturn.ResetRequired, NvmlReturn.Unknown, NvmlReturn.ResetRequired)]
    [InlineData(NvmlReturn.GpuIsLost, NvmlReturn.ResetRequired, NvmlReturn.GpuIsLost)]
    public void Worse_TwoErrors_KeepsTheWorse(NvmlReturn? a, NvmlReturn b, NvmlReturn expected)
        => Assert.Equal(expected, GpuHealthTable.Worse(a, b));

    /// <summary>The order a MIG instance takes its GPU's health in: only a worse one replaces its own.</summary>
    [Theory]
    [InlineData(GpuHealth.Ok, 0)]
    [InlineData(GpuHealth.Unspecified, 0)]
    [InlineData(GpuHealth.Degraded, 1)]
    [InlineData(GpuHealth.Unhealthy, 2)]
    [InlineData(GpuHealth.Xid, 2)]
    [InlineData(GpuHealth.Unavailable, 3)]
    [InlineData(GpuHealth.Lost, 4)]
    public void Severity_EachHealth_HasItsPlace(GpuHealth health, int expected)
        => Assert.Equal(expected, GpuHealthTable.Severity(health));

    private static uint? NoneIfZero(uint xid) => xid == 0 ? null : xid;
}
