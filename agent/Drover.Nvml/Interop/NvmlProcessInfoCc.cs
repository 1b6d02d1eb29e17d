using System.Runtime.InteropServices;

namespace Drover.Nvml.Interop;

/// <summary>
/// The record nvmlDeviceGetComputeRunningProcesses_v3 writes on R535.43 to 535.86: the v2 record
/// (<see cref="NvmlProcessInfo"/>) with <c>usedGpuCcProtectedMemory</c> appended, 32 bytes, offsets 0/8/16/20/24.
/// Only its size is used: the first 24 bytes read as an <see cref="NvmlProcessInfo"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NvmlProcessInfoCc
{
    public uint Pid;
    public ulong UsedGpuMemory;
    public uint GpuInstanceId;
    public uint ComputeInstanceId;
    public ulong UsedGpuCcProtectedMemory;
}
