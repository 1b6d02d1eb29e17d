using System.Runtime.InteropServices;

namespace Drover.Nvml.Interop;

/// <summary><c>nvmlMemory_v2_t</c>: 40 bytes, <c>total</c> at offset 8.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NvmlMemoryV2
{
    /// <summary><c>nvmlMemory_v2</c> = NVML_STRUCT_VERSION(Memory, 2) = sizeof(nvmlMemory_v2_t) | (2 &lt;&lt; 24).</summary>
    internal const uint StructVersion = 0x02000028;

    public uint Version;
    public ulong Total;
    public ulong Reserved;
    public ulong Free;
    public ulong Used;
}
