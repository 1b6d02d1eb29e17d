namespace Drover.Nvml;

/// <summary>A clock domain (nvmlClockType_t).</summary>
public enum GpuClock
{
    /// <summary>NVML_CLOCK_SM: the streaming multiprocessors' clock.</summary>
    Sm = 1,

    /// <summary>NVML_CLOCK_MEM: the memory clock.</summary>
    Memory = 2,
}

/// <summary>A PCIe direction (nvmlPcieUtilCounter_t).</summary>
public enum PcieDirection
{
    /// <summary>NVML_PCIE_UTIL_TX_BYTES: from the GPU.</summary>
    Transmit = 0,

    /// <summary>NVML_PCIE_UTIL_RX_BYTES: to the GPU.</summary>
    Receive = 1,
}

/// <summary>An ECC error kind (nvmlMemoryErrorType_t).</summary>
public enum EccErrorKind
{
    /// <summary>NVML_MEMORY_ERROR_TYPE_CORRECTED: single-bit errors the hardware corrected.</summary>
    Corrected = 0,

    /// <summary>NVML_MEMORY_ERROR_TYPE_UNCORRECTED: double-bit errors it could not.</summary>
    Uncorrected = 1,
}

/// <summary>Why the clocks are below their maximum now (nvmlClocksEventReason* bits; more than one may be set).</summary>
[Flags]
public enum GpuClockEventReasons : ulong
{
    /// <summary>No reason: the clocks are as high as they may be.</summary>
    None = 0,

    /// <summary>The GPU is idle.</summary>
    GpuIdle = 0x1,

    /// <summary>Clocks are set to application-specific values.</summary>
    ApplicationsClocksSetting = 0x2,

    /// <summary>The software power cap is active (normal under a heavy load).</summary>
    SwPowerCap = 0x4,

    /// <summary>Hardware slowdown (temperature too high, or an external power brake): the GPU is held back.</summary>
    HwSlowdown = 0x8,

    /// <summary>Sync boost (clocks matched across GPUs).</summary>
    SyncBoost = 0x10,

    /// <summary>Software thermal slowdown: the GPU or memory is hotter than its maximum operating temperature.</summary>
    SwThermalSlowdown = 0x20,

    /// <summary>Hardware thermal slowdown: the GPU is too hot.</summary>
    HwThermalSlowdown = 0x40,

    /// <summary>Hardware power brake: the power supply asked the GPU to slow down.</summary>
    HwPowerBrakeSlowdown = 0x80,

    /// <summary>A display clock setting limits the clocks.</summary>
    DisplayClockSetting = 0x100,
}

/// <summary>The GPU's row remapping (Ampere and later): rows remapped for correctable and uncorrectable errors, and whether a remap waits for a reset or failed.</summary>
/// <param name="Corrected">Rows remapped for correctable errors.</param>
/// <param name="Uncorrected">Rows remapped for uncorrectable errors.</param>
/// <param name="Pending">A remap waits for the next GPU reset to take effect.</param>
/// <param name="Failed">A remap failed: the GPU has run out of spare rows.</param>
public readonly record struct GpuRemappedRows(uint Corrected, uint Uncorrected, bool Pending, bool Failed);
