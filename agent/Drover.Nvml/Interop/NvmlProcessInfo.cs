using System.Runtime.InteropServices;

namespace Drover.Nvml.Interop;

/// <summary>
/// <c>nvmlProcessInfo_t</c> as nvmlDeviceGetComputeRunningProcesses_v3 and _v2 fill it (the v2 struct): 24 bytes,
/// offsets 0/8/16/20. The instance ids are 0xFFFFFFFF when the GPU is not in MIG mode; usedGpuMemory is
/// NVML_VALUE_NOT_AVAILABLE when NVML cannot tell. R535.43 to 535.86 write <see cref="NvmlProcessInfoCc"/> instead.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NvmlProcessInfo
{
    public uint Pid;
    public ulong UsedGpuMemory;
    public uint GpuInstanceId;
    public uint ComputeInstanceId;
}
