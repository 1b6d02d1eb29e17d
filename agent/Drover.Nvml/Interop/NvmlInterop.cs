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
    ];

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

    /// <summary><paramref name="value"/>, or null when it is <see cref="ValueNotAvailable"/>.</summary>
    internal static ulong? Known(ulong value) => value == ValueNotAvailable ? null : value;
}
