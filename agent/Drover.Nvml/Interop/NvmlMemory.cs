using System.Runtime.InteropServices;

namespace Drover.Nvml.Interop;

/// <summary><c>nvmlMemory_t</c> (v1): 24 bytes; <c>used</c> includes reserved memory.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NvmlMemory
{
    public ulong Total;
    public ulong Free;
    public ulong Used;
}
