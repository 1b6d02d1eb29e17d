namespace Drover.Nvml;

/// <summary>
/// A compute process running on a GPU.
/// </summary>
/// <param name="Pid">The process id, in the host's PID namespace.</param>
/// <param name="UsedMemoryBytes">GPU memory the process uses; <see cref="ulong.MaxValue"/> when NVML cannot tell.</param>
public readonly record struct GpuProcess(uint Pid, ulong UsedMemoryBytes);
