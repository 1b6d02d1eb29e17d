using System.Runtime.InteropServices;

namespace Drover.Nvml.Interop;

/// <summary>
/// <c>nvmlProcessInfo_t</c> as nvmlDeviceGetComputeRunningProcesses_v3 fills it (the v2 struct): 24 bytes,
/// offsets 0/8/16/20. The instance ids are 0xFFFFFFFF when the GPU is not in MIG mode.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NvmlProcessInfo
{
    public uint Pid;
    public ulong UsedGpuMemory;
    public uint GpuInstanceId;
    public uint ComputeInstanceId;
}
