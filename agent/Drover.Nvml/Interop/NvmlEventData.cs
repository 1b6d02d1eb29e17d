using System.Runtime.InteropServices;

namespace Drover.Nvml.Interop;

/// <summary><c>nvmlEventData_t</c>: 32 bytes on 64-bit, offsets 0/8/16/24/28.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NvmlEventData
{
    public nint Device;
    public ulong EventType;
    public ulong EventData;
    public uint GpuInstanceId;
    public uint ComputeInstanceId;
}
