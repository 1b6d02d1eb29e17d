using System.Runtime.InteropServices;

namespace Drover.Nvml.Interop;

/// <summary><c>nvmlUtilization_t</c>: 8 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NvmlUtilization
{
    public uint Gpu;
    public uint Memory;
}
