namespace Drover.Nvml;

/// <summary>
/// A compute process running on a GPU.
/// </summary>
/// <param name="Pid">The process id, in the host's PID namespace.</param>
/// <param name="UsedMemoryBytes">GPU memory the process uses; null when NVML cannot tell (it wrote NVML_VALUE_NOT_AVAILABLE).</param>
public readonly record struct GpuProcess(uint Pid, ulong? UsedMemoryBytes);
