using System.Runtime.InteropServices;

namespace Drover.Nvml.Interop;

/// <summary>
/// NVML's GPU Performance Monitoring (GPM; R520 on, Hopper and later GPUs): activity measured between two samples of
/// the GPU (or of one MIG instance). Its six entry points are optional: they are looked up at each initialization
/// (<see cref="Use"/>) and the binding reads no GPM metric where the library lacks any of them.
/// </summary>
internal static unsafe class NvmlGpm
{
    /// <summary>NVML_GPM_METRICS_GET_VERSION.</summary>
    internal const uint MetricsGetVersion = 1;

    /// <summary>NVML_GPM_SUPPORT_VERSION.</summary>
    internal const uint SupportVersion = 1;

    /// <summary>NVML_GPM_METRIC_GRAPHICS_UTIL: percent of time any compute or graphics work was active.</summary>
    internal const uint GraphicsActivity = 1;

    /// <summary>NVML_GPM_METRIC_SM_UTIL: percent of SMs busy.</summary>
    internal const uint SmActivity = 2;

    /// <summary>NVML_GPM_METRIC_SM_OCCUPANCY: percent of warps active against the theoretical maximum.</summary>
    internal const uint SmOccupancy = 3;

    /// <summary>
    /// NVML_GPM_METRIC_MAX in API 13: the length of <c>nvmlGpmMetricsGet_t.metrics</c>. The binding asks for three and
    /// the driver reads <c>numMetrics</c> of them, but the buffer has the whole array's room whatever header the driver
    /// was built against.
    /// </summary>
    internal const int MetricMax = 333;

    /// <summary>sizeof(nvmlGpmMetric_t) on LP64: metricId, nvmlReturn, value (double), three name pointers.</summary>
    internal const int MetricBytes = 40;

    /// <summary>Offset of <c>metrics</c> in <c>nvmlGpmMetricsGet_t</c>: version, numMetrics, sample1, sample2.</summary>
    internal const int MetricsOffset = 24;

    /// <summary>sizeof(nvmlGpmMetricsGet_t) in API 13.</summary>
    internal const int MetricsGetBytes = MetricsOffset + (MetricMax * MetricBytes);

    internal static readonly string[] Symbols =
    [
        "nvmlGpmSampleAlloc", "nvmlGpmSampleFree", "nvmlGpmSampleGet", "nvmlGpmMigSampleGet", "nvmlGpmMetricsGet", "nvmlGpmQueryDeviceSupport",
    ];

    private static delegate* unmanaged<nint*, NvmlReturn> s_sampleAlloc;
    private static delegate* unmanaged<nint, NvmlReturn> s_sampleFree;
    private static delegate* unmanaged<nint, nint, NvmlReturn> s_sampleGet;
    private static delegate* unmanaged<nint, uint, nint, NvmlReturn> s_migSampleGet;
    private static delegate* unmanaged<byte*, NvmlReturn> s_metricsGet;
    private static delegate* unmanaged<nint, NvmlGpmSupport*, NvmlReturn> s_queryDeviceSupport;

    /// <summary>Whether the loaded library exports every GPM entry point.</summary>
    internal static bool Available => s_metricsGet != null;

    /// <summary>Takes the GPM entry points from the loaded library (<paramref name="lookUp"/> is dlsym); all six, or none.</summary>
    internal static void Use(TryGetExport lookUp)
    {
        var found = new nint[Symbols.Length];
        var all = true;
        for (var i = 0; i < Symbols.Length; i++)
        {
            all &= lookUp(Symbols[i], out found[i]) && found[i] != 0;
        }

        if (!all)
        {
            Array.Clear(found);
        }

        s_sampleAlloc = (delegate* unmanaged<nint*, NvmlReturn>)found[0];
        s_sampleFree = (delegate* unmanaged<nint, NvmlReturn>)found[1];
        s_sampleGet = (delegate* unmanaged<nint, nint, NvmlReturn>)found[2];
        s_migSampleGet = (delegate* unmanaged<nint, uint, nint, NvmlReturn>)found[3];
        s_queryDeviceSupport = (delegate* unmanaged<nint, NvmlGpmSupport*, NvmlReturn>)found[5];
        s_metricsGet = (delegate* unmanaged<byte*, NvmlReturn>)found[4];
    }

    internal delegate bool TryGetExport(string symbol, out nint address);

    internal static NvmlReturn SampleAlloc(nint* sample) => s_sampleAlloc != null ? s_sampleAlloc(sample) : NvmlReturn.FunctionNotFound;

    internal static NvmlReturn SampleFree(nint sample) => s_sampleFree != null ? s_sampleFree(sample) : NvmlReturn.FunctionNotFound;

    internal static NvmlReturn SampleGet(nint device, nint sample) => s_sampleGet != null ? s_sampleGet(device, sample) : NvmlReturn.FunctionNotFound;

    internal static NvmlReturn MigSampleGet(nint device, uint gpuInstanceId, nint sample)
        => s_migSampleGet != null ? s_migSampleGet(device, gpuInstanceId, sample) : NvmlReturn.FunctionNotFound;

    internal static NvmlReturn MetricsGet(byte* metricsGet) => s_metricsGet != null ? s_metricsGet(metricsGet) : NvmlReturn.FunctionNotFound;

    internal static NvmlReturn QueryDeviceSupport(nint device, NvmlGpmSupport* support)
        => s_queryDeviceSupport != null ? s_queryDeviceSupport(device, support) : NvmlReturn.FunctionNotFound;
}

/// <summary><c>nvmlGpmSupport_t</c>: 8 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NvmlGpmSupport
{
    public uint Version;
    public uint IsSupportedDevice;
}
