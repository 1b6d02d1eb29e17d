using System.Runtime.InteropServices;

namespace Drover.Nvml.Interop;

/// <summary>
/// NVML's C API (nvml.h), bound by <see cref="LibraryImportAttribute"/> with the exact versioned symbol names.
/// The library is resolved by <see cref="NvmlLibrary"/>; call nothing here before it loaded.
/// </summary>
internal static unsafe partial class NvmlInterop
{
    /// <summary>The name the imports use; <see cref="NvmlLibrary"/> resolves it to the loaded library.</summary>
    internal const string LibraryName = NvmlOptions.DefaultLibraryName;

    /// <summary>NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE.</summary>
    internal const int DriverVersionBufferSize = 80;

    /// <summary>NVML_DEVICE_UUID_V2_BUFFER_SIZE.</summary>
    internal const int UuidBufferSize = 96;

    /// <summary>NVML_DEVICE_NAME_V2_BUFFER_SIZE.</summary>
    internal const int NameBufferSize = 96;

    /// <summary>NVML_TEMPERATURE_GPU.</summary>
    internal const int TemperatureGpu = 0;

    /// <summary>NVML_DEVICE_MIG_ENABLE.</summary>
    internal const uint MigEnable = 1;

    /// <summary>The GPU and compute instance id of a process or event that is not in a MIG instance (all ones).</summary>
    internal const uint NoInstanceId = uint.MaxValue;

    /// <summary>Symbols every supported NVML exports; checked when the library is loaded.</summary>
    internal static readonly string[] RequiredSymbols =
    [
        "nvmlInit_v2",
        "nvmlShutdown",
        "nvmlErrorString",
        "nvmlSystemGetDriverVersion",
        "nvmlDeviceGetCount_v2",
        "nvmlDeviceGetHandleByIndex_v2",
        "nvmlDeviceGetUUID",
        "nvmlDeviceGetName",
        "nvmlDeviceGetPciInfo_v3",
        "nvmlDeviceGetMemoryInfo",
        "nvmlDeviceGetUtilizationRates",
        "nvmlDeviceGetTemperature",
        "nvmlDeviceGetPowerUsage",
        "nvmlDeviceGetMigMode",
        "nvmlEventSetCreate",
        "nvmlDeviceGetSupportedEventTypes",
        "nvmlDeviceRegisterEvents",
        "nvmlEventSetWait_v2",
        "nvmlEventSetFree",
        "nvmlDeviceGetClockInfo",
        "nvmlDeviceGetCurrentClocksThrottleReasons",
        "nvmlDeviceGetTotalEnergyConsumption",
        "nvmlDeviceGetPcieThroughput",
        "nvmlDeviceGetPcieReplayCounter",
        "nvmlDeviceGetEncoderUtilization",
        "nvmlDeviceGetDecoderUtilization",
        "nvmlDeviceGetTotalEccErrors",
        "nvmlDeviceGetRemappedRows",
        "nvmlDeviceGetMaxMigDeviceCount",
        "nvmlDeviceGetMigDeviceHandleByIndex",
        "nvmlDeviceGetGpuInstanceId",
        "nvmlDeviceGetComputeInstanceId",
        "nvmlDeviceGetFieldValues",
    ];

    /// <summary>Optional symbol (R535 on): the clock event reasons; <c>nvmlDeviceGetCurrentClocksThrottleReasons</c>, its older name with the same ABI, is the fallback.</summary>
    internal const string ClocksEventReasonsSymbol = "nvmlDeviceGetCurrentClocksEventReasons";

    /// <summary>NVML_VOLATILE_ECC: counts since the driver was loaded.</summary>
    internal const int VolatileEcc = 0;

    /// <summary>
    /// NVML_VALUE_NOT_AVAILABLE as an <c>unsigned long long</c> (all ones): what NVML writes where it cannot tell a
    /// value, such as a process's usedGpuMemory. Read through <see cref="Known"/>, never shown as 18 EB.
    /// </summary>
    internal const ulong ValueNotAvailable = ulong.MaxValue;

    /// <summary>Optional symbol: nvmlDeviceGetMemoryInfo_v2 (with reserved memory); v1 is the fallback.</summary>
    internal const string MemoryInfoV2Symbol = "nvmlDeviceGetMemoryInfo_v2";

    [LibraryImport(LibraryName, EntryPoint = "nvmlInit_v2")]
    internal static partial NvmlReturn Init();

    [LibraryImport(LibraryName, EntryPoint = "nvmlShutdown")]
    internal static partial NvmlReturn Shutdown();

    [LibraryImport(LibraryName, EntryPoint = "nvmlErrorString")]
    internal static partial byte* ErrorString(NvmlReturn result);

    [LibraryImport(LibraryName, EntryPoint = "nvmlSystemGetDriverVersion")]
    internal static partial NvmlReturn SystemGetDriverVersion(byte* version, uint length);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetCount_v2")]
    internal static partial NvmlReturn DeviceGetCount(uint* deviceCount);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetHandleByIndex_v2")]
    internal static partial NvmlReturn DeviceGetHandleByIndex(uint index, nint* device);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetUUID")]
    internal static partial NvmlReturn DeviceGetUuid(nint device, byte* uuid, uint length);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetName")]
    internal static partial NvmlReturn DeviceGetName(nint device, byte* name, uint length);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetPciInfo_v3")]
    internal static partial NvmlReturn DeviceGetPciInfo(nint device, NvmlPciInfo* pci);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetMemoryInfo_v2")]
    internal static partial NvmlReturn DeviceGetMemoryInfoV2(nint device, NvmlMemoryV2* memory);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetMemoryInfo")]
    internal static partial NvmlReturn DeviceGetMemoryInfo(nint device, NvmlMemory* memory);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetUtilizationRates")]
    internal static partial NvmlReturn DeviceGetUtilizationRates(nint device, NvmlUtilization* utilization);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetTemperature")]
    internal static partial NvmlReturn DeviceGetTemperature(nint device, int sensorType, uint* temperature);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetPowerUsage")]
    internal static partial NvmlReturn DeviceGetPowerUsage(nint device, uint* power);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetMigMode")]
    internal static partial NvmlReturn DeviceGetMigMode(nint device, uint* currentMode, uint* pendingMode);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetClockInfo")]
    internal static partial NvmlReturn DeviceGetClockInfo(nint device, int type, uint* clock);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetCurrentClocksThrottleReasons")]
    internal static partial NvmlReturn DeviceGetCurrentClocksThrottleReasons(nint device, ulong* reasons);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetTotalEnergyConsumption")]
    internal static partial NvmlReturn DeviceGetTotalEnergyConsumption(nint device, ulong* energy);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetPcieThroughput")]
    internal static partial NvmlReturn DeviceGetPcieThroughput(nint device, int counter, uint* value);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetPcieReplayCounter")]
    internal static partial NvmlReturn DeviceGetPcieReplayCounter(nint device, uint* value);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetEncoderUtilization")]
    internal static partial NvmlReturn DeviceGetEncoderUtilization(nint device, uint* utilization, uint* samplingPeriodUs);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetDecoderUtilization")]
    internal static partial NvmlReturn DeviceGetDecoderUtilization(nint device, uint* utilization, uint* samplingPeriodUs);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetTotalEccErrors")]
    internal static partial NvmlReturn DeviceGetTotalEccErrors(nint device, int errorType, int counterType, ulong* count);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetRemappedRows")]
    internal static partial NvmlReturn DeviceGetRemappedRows(nint device, uint* corrected, uint* uncorrected, uint* pending, uint* failed);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetMaxMigDeviceCount")]
    internal static partial NvmlReturn DeviceGetMaxMigDeviceCount(nint device, uint* count);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetMigDeviceHandleByIndex")]
    internal static partial NvmlReturn DeviceGetMigDeviceHandleByIndex(nint device, uint index, nint* migDevice);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetGpuInstanceId")]
    internal static partial NvmlReturn DeviceGetGpuInstanceId(nint device, uint* id);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetComputeInstanceId")]
    internal static partial NvmlReturn DeviceGetComputeInstanceId(nint device, uint* id);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetFieldValues")]
    internal static partial NvmlReturn DeviceGetFieldValues(nint device, int valuesCount, NvmlFieldValue* values);

    [LibraryImport(LibraryName, EntryPoint = "nvmlEventSetCreate")]
    internal static partial NvmlReturn EventSetCreate(nint* set);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetSupportedEventTypes")]
    internal static partial NvmlReturn DeviceGetSupportedEventTypes(nint device, ulong* eventTypes);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceRegisterEvents")]
    internal static partial NvmlReturn DeviceRegisterEvents(nint device, ulong eventTypes, nint set);

    [LibraryImport(LibraryName, EntryPoint = "nvmlEventSetWait_v2")]
    internal static partial NvmlReturn EventSetWait(nint set, NvmlEventData* data, uint timeoutMilliseconds);

    [LibraryImport(LibraryName, EntryPoint = "nvmlEventSetFree")]
    internal static partial NvmlReturn EventSetFree(nint set);

    /// <summary>The exported <see cref="ClocksEventReasonsSymbol"/>, chosen at each initialization; null where the library lacks it.</summary>
    private static delegate* unmanaged<nint, ulong*, NvmlReturn> s_clocksEventReasons;

    /// <summary>Whether the loaded library exports <see cref="ClocksEventReasonsSymbol"/> (R535 on).</summary>
    internal static bool HasClocksEventReasons => s_clocksEventReasons != null;

    /// <summary>The name of the call <see cref="DeviceGetClockEventReasons"/> makes, for errors.</summary>
    internal static string ClockEventReasonsCall => HasClocksEventReasons ? ClocksEventReasonsSymbol : "nvmlDeviceGetCurrentClocksThrottleReasons";

    /// <summary>Uses the export at <paramref name="address"/> for the clock event reasons; 0 for the older name.</summary>
    internal static void UseClocksEventReasons(nint address) => s_clocksEventReasons = (delegate* unmanaged<nint, ulong*, NvmlReturn>)address;

    /// <summary>The clock event reasons through the newer name where exported, else the older one (the same ABI).</summary>
    internal static NvmlReturn DeviceGetClockEventReasons(nint device, ulong* reasons)
        => s_clocksEventReasons != null ? s_clocksEventReasons(device, reasons) : DeviceGetCurrentClocksThrottleReasons(device, reasons);

    /// <summary><paramref name="value"/>, or null when it is <see cref="ValueNotAvailable"/>.</summary>
    internal static ulong? Known(ulong value) => value == ValueNotAvailable ? null : value;
}
