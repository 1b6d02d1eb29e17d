namespace Drover.Nvml;

/// <summary>
/// One GPU, identified by its UUID. Its handle is cached: reading a value costs one NVML call.
/// </summary>
/// <remarks>
/// Thread-safe. When the GPU is lost, every read returns <see cref="NvmlReturn.GpuIsLost"/>;
/// <see cref="INvml.Rescan"/> refreshes the handle when it comes back.
/// </remarks>
public interface IGpuDevice
{
    /// <summary>The NVML index at the last enumeration. Indexes can change between boots; the UUID does not.</summary>
    int Index { get; }

    /// <summary>The GPU's UUID (<c>GPU-…</c>; <c>MIG-…</c> for a MIG instance).</summary>
    string Uuid { get; }

    /// <summary>
    /// Set when this device is a MIG instance of a GPU with MIG enabled: listed after its parent, with the parent's
    /// index and bus id. Such a device answers memory and its processes; utilization, temperature, power, clocks and
    /// the other counters belong to its parent, and NVML answers not supported for them.
    /// </summary>
    GpuMigInstance? Mig { get; }

    /// <summary>The product name, for example <c>NVIDIA H100 80GB HBM3</c>; empty when NVML could not tell.</summary>
    string Name { get; }

    /// <summary>The PCI bus id, <c>domain:bus:device.function</c>, for example <c>00000000:17:00.0</c>; empty when NVML could not tell.</summary>
    string PciBusId { get; }

    /// <summary>Framebuffer memory (<c>nvmlDeviceGetMemoryInfo_v2</c>, or v1 where the library lacks v2).</summary>
    NvmlResult<GpuMemory> GetMemory();

    /// <summary>Utilization over the driver's last sample period; not supported on MIG-enabled GPUs.</summary>
    NvmlResult<GpuUtilization> GetUtilization();

    /// <summary>The GPU core temperature in degrees Celsius.</summary>
    NvmlResult<uint> GetTemperatureC();

    /// <summary>Power draw in milliwatts (a 1 s average on Ampere and later, except GA100).</summary>
    NvmlResult<uint> GetPowerMilliwatts();

    /// <summary>Whether MIG mode is currently enabled.</summary>
    NvmlResult<bool> GetMigEnabled();

    /// <summary>
    /// The compute processes running on the GPU (<c>nvmlDeviceGetComputeRunningProcesses_v3</c>, or <c>_v2</c> where the
    /// library lacks v3), read with the record size the library's exports call for. The list is empty when none run.
    /// Successive calls that find the same processes return the same list instance, so a steady sample allocates nothing.
    /// </summary>
    NvmlResult<IReadOnlyList<GpuProcess>> GetComputeProcesses();

    /// <summary>A clock now, in MHz (<c>nvmlDeviceGetClockInfo</c>).</summary>
    NvmlResult<uint> GetClockMhz(GpuClock clock);

    /// <summary>
    /// Why the clocks are held back now (<c>nvmlDeviceGetCurrentClocksEventReasons</c>, or
    /// <c>nvmlDeviceGetCurrentClocksThrottleReasons</c> where the library predates it).
    /// </summary>
    NvmlResult<GpuClockEventReasons> GetClockEventReasons();

    /// <summary>Energy the GPU used since the driver was loaded, in millijoules (Volta and later).</summary>
    NvmlResult<ulong> GetTotalEnergyMillijoules();

    /// <summary>PCIe throughput in one direction over the driver's last 20 ms, in KB/s.</summary>
    NvmlResult<uint> GetPcieThroughputKilobytesPerSecond(PcieDirection direction);

    /// <summary>PCIe replays (link-level retransmissions) since the driver was loaded: a rising count is a bad link.</summary>
    NvmlResult<uint> GetPcieReplayCount();

    /// <summary>Percent of the last sampling period the video encoder was busy.</summary>
    NvmlResult<uint> GetEncoderUtilizationPercent();

    /// <summary>Percent of the last sampling period the video decoder was busy.</summary>
    NvmlResult<uint> GetDecoderUtilizationPercent();

    /// <summary>ECC errors of one kind since the driver was loaded (volatile counts); not supported where ECC is off.</summary>
    NvmlResult<ulong> GetEccErrors(EccErrorKind kind);

    /// <summary>Row remapping (<c>nvmlDeviceGetRemappedRows</c>; Ampere and later).</summary>
    NvmlResult<GpuRemappedRows> GetRemappedRows();

    /// <summary>The memory (HBM) temperature in degrees Celsius (<c>nvmlDeviceGetFieldValues</c>, NVML_FI_DEV_MEMORY_TEMP).</summary>
    NvmlResult<uint> GetMemoryTemperatureC();

    /// <summary>
    /// GPM activity since the previous call on this device (a MIG instance is sampled through its GPU, by its GPU
    /// instance id); null on the first call, which only takes the first sample. Not supported where the library has no
    /// GPM (before R520) or the GPU does not offer it (before Hopper). Calls should be at least 100 ms apart.
    /// </summary>
    NvmlResult<GpuActivity?> GetActivity();
}
