namespace Drover.Nvml;

/// <summary>
/// Framebuffer memory of one GPU, in bytes. Free is total minus used minus reserved. A value is null when NVML
/// wrote NVML_VALUE_NOT_AVAILABLE for it.
/// </summary>
/// <param name="TotalBytes">Installed framebuffer memory.</param>
/// <param name="UsedBytes">Memory allocated by processes and the driver.</param>
/// <param name="FreeBytes">Memory available for allocation.</param>
/// <param name="ReservedBytes">Memory the driver and firmware reserve; 0 when the library has only the v1 call, which counts it as used.</param>
public readonly record struct GpuMemory(ulong? TotalBytes, ulong? UsedBytes, ulong? FreeBytes, ulong? ReservedBytes);
