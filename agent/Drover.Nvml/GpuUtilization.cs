namespace Drover.Nvml;

/// <summary>
/// Utilization over the driver's last sample period (between 1/6 s and 1 s, depending on the product).
/// </summary>
/// <param name="GpuPercent">Percent of time one or more kernels were executing.</param>
/// <param name="MemoryPercent">Percent of time device memory was being read or written.</param>
public readonly record struct GpuUtilization(uint GpuPercent, uint MemoryPercent);
