using System.Collections.Frozen;
using Drover.Nvml;
using Drover.Protocol.V1;

namespace Drover.Agent.Telemetry;

/// <summary>
/// What one GPU's sample says of its health, from what the agent can read today: the NVML error its
/// calls answered, how many samples in a row answered NVML_ERROR_UNKNOWN, and the XIDs held on the
/// <see cref="GpuHealthBoard"/>. A pure table; the first row that matches decides:
/// <list type="table">
/// <listheader><term>input</term><description>health, reason</description></listheader>
/// <item><term>any call answers GPU_IS_LOST</term><description>lost</description></item>
/// <item><term>any call answers RESET_REQUIRED</term><description>unhealthy: the GPU needs a reset before any work runs on it</description></item>
/// <item><term>a hardware XID held (48, 63, 64, 74, 79, 92, 94, 95, 119, 120)</term><description>unhealthy: a fault of the GPU, not of a process</description></item>
/// <item><term>UNKNOWN on <see cref="UnknownErrorSamples"/> samples in a row</term><description>unhealthy: it no longer answers</description></item>
/// <item><term>any call answers NOT_READY</term><description>unhealthy while it lasts: the driver is still setting the GPU up</description></item>
/// <item><term>a row remap failed (no spare rows left)</term><description>unhealthy: its memory can no longer be repaired</description></item>
/// <item><term>UNKNOWN on one sample</term><description>degraded: one glitch does not take a GPU out, but it ranks after sound ones</description></item>
/// <item><term>clocks held back by a hardware slowdown, thermal slowdown or power brake</term><description>degraded: it runs slower than its peers (the power cap alone is normal under load)</description></item>
/// <item><term>a row remap pending</term><description>degraded: it takes effect at the next GPU reset</description></item>
/// <item><term>an XID in neither list held</term><description>degraded: not known to be the GPU's fault, not known to be harmless</description></item>
/// <item><term>an application XID held (13, 31, 43, 45)</term><description>ok, the XID recorded: a process's fault (45 follows every kill of a CUDA process, which every stop does)</description></item>
/// <item><term>otherwise</term><description>ok</description></item>
/// </list>
/// </summary>
/// <remarks>
/// The XID lists are those commonly treated as hardware or driver faults and as application faults
/// (NVIDIA's k8s-device-plugin skips 13, 31, 43, 45 for the same reason).
/// </remarks>
internal static class GpuHealthTable
{
    /// <summary>The clock event reasons that make a GPU degraded: it is held back by heat or power, not by its load or its settings.</summary>
    public const GpuClockEventReasons Slowdowns = GpuClockEventReasons.HwSlowdown | GpuClockEventReasons.SwThermalSlowdown
        | GpuClockEventReasons.HwThermalSlowdown | GpuClockEventReasons.HwPowerBrakeSlowdown;

    /// <summary>Samples in a row answering NVML_ERROR_UNKNOWN before the GPU is unhealthy: one is a glitch, two are a pattern.</summary>
    public const int UnknownErrorSamples = 2;

    /// <summary>XIDs that are faults of the GPU or its driver, with what they mean: they take the GPU out while held.</summary>
    public static readonly FrozenDictionary<uint, string> HardwareXids = new Dictionary<uint, string>
    {
        [48] = "double-bit ECC error",
        [63] = "row remapping event",
        [64] = "row remapping failure",
        [74] = "NVLink error",
        [79] = "fallen off the bus",
        [92] = "high single-bit ECC error rate",
        [94] = "contained ECC error",
        [95] = "uncontained ECC error",
        [119] = "GSP RPC timeout",
        [120] = "GSP error",
    }.ToFrozenDictionary();

    /// <summary>XIDs a process causes (its fault, or its kill): recorded and shown, never a reason to take the GPU out.</summary>
    public static readonly FrozenDictionary<uint, string> ApplicationXids = new Dictionary<uint, string>
    {
        [13] = "graphics engine exception",
        [31] = "GPU memory page fault",
        [43] = "GPU stopped processing (channel stopped)",
        [45] = "preemptive cleanup (a process with work queued was killed)",
    }.ToFrozenDictionary();

    /// <summary>NVML return codes that say the GPU is unwell rather than that a field is unavailable, worst first.</summary>
    private static readonly NvmlReturn[] HealthErrors = [NvmlReturn.GpuIsLost, NvmlReturn.ResetRequired, NvmlReturn.Unknown, NvmlReturn.NotReady];

    /// <summary>Whether an NVML return code speaks of the GPU's health (and so is not just a field it cannot read).</summary>
    public static bool IsHealthError(NvmlReturn code) => Array.IndexOf(HealthErrors, code) >= 0;

    /// <summary>The worse of two health errors (null is none).</summary>
    public static NvmlReturn? Worse(NvmlReturn? a, NvmlReturn b)
        => a is { } known && Array.IndexOf(HealthErrors, known) <= Array.IndexOf(HealthErrors, b) ? known : b;

    /// <summary>
    /// How far from placeable a health is: ok 0, degraded 1, unhealthy (or an older agent's XID) 2, unavailable 3,
    /// lost 4. A MIG instance takes its GPU's health where this is higher.
    /// </summary>
    public static int Severity(GpuHealth health) => health switch
    {
        GpuHealth.Degraded => 1,
        GpuHealth.Unhealthy or GpuHealth.Xid => 2,
        GpuHealth.Unavailable => 3,
        GpuHealth.Lost => 4,
        _ => 0,
    };

    /// <summary>Which list an XID is on.</summary>
    public static XidKind KindOf(uint xid)
        => HardwareXids.ContainsKey(xid) ? XidKind.Hardware : ApplicationXids.ContainsKey(xid) ? XidKind.Application : XidKind.Unclassified;

    /// <summary>The health, its reason and the XID to report, by the table above.</summary>
    public static GpuVerdict Classify(GpuHealthInputs inputs)
    {
        var (error, unknownStreak, xids, reasons, rows) = (inputs.Error, inputs.UnknownStreak, inputs.Xids, inputs.ClockEventReasons, inputs.RemappedRows);
        if (error == NvmlReturn.GpuIsLost)
        {
            return new(GpuHealth.Lost, "NVML answers GPU_IS_LOST: the GPU fell off the bus or is otherwise inaccessible", 0);
        }

        if (error == NvmlReturn.ResetRequired)
        {
            return new(GpuHealth.Unhealthy, "NVML answers RESET_REQUIRED: the GPU needs a reset", xids.Hardware ?? 0);
        }

        if (xids.Hardware is { } hardware)
        {
            return new(GpuHealth.Unhealthy, $"hardware XID {hardware} ({HardwareXids[hardware]})", hardware);
        }

        if (error == NvmlReturn.Unknown && unknownStreak >= UnknownErrorSamples)
        {
            return new(GpuHealth.Unhealthy, $"NVML answers UNKNOWN on {unknownStreak} samples in a row", 0);
        }

        if (error == NvmlReturn.NotReady)
        {
            return new(GpuHealth.Unhealthy, "NVML answers NOT_READY: the driver is still setting the GPU up", 0);
        }

        if (rows is { Failed: true })
        {
            return new(GpuHealth.Unhealthy, "a row remap failed: the GPU has no spare memory rows left", 0);
        }

        if (error == NvmlReturn.Unknown)
        {
            return new(GpuHealth.Degraded, "NVML answers UNKNOWN on this sample", 0);
        }

        if ((reasons & Slowdowns) != 0)
        {
            return new(GpuHealth.Degraded, $"clocks held back: {SlowdownNames(reasons & Slowdowns)}", 0);
        }

        if (rows is { Pending: true })
        {
            return new(GpuHealth.Degraded, "a row remap is pending: it takes effect at the next GPU reset", 0);
        }

        if (xids.Unclassified is { } unclassified)
        {
            return new(GpuHealth.Degraded, $"XID {unclassified} (not known to be an application's or the hardware's)", unclassified);
        }

        if (xids.Application is { } application)
        {
            return new(GpuHealth.Ok, $"application XID {application} ({ApplicationXids[application]}) recorded; the GPU stays in placement", application);
        }

        return new(GpuHealth.Ok, "", 0);
    }

    private static string SlowdownNames(GpuClockEventReasons reasons)
    {
        var names = new List<string>(4);
        if (reasons.HasFlag(GpuClockEventReasons.HwSlowdown))
        {
            names.Add("hardware slowdown");
        }

        if (reasons.HasFlag(GpuClockEventReasons.SwThermalSlowdown))
        {
            names.Add("software thermal slowdown");
        }

        if (reasons.HasFlag(GpuClockEventReasons.HwThermalSlowdown))
        {
            names.Add("hardware thermal slowdown");
        }

        if (reasons.HasFlag(GpuClockEventReasons.HwPowerBrakeSlowdown))
        {
            names.Add("power brake");
        }

        return string.Join(", ", names);
    }
}
