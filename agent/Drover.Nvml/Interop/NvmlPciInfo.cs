using System.Runtime.InteropServices;

namespace Drover.Nvml.Interop;

/// <summary>
/// <c>nvmlPciInfo_t</c> as nvmlDeviceGetPciInfo_v3 fills it: 68 bytes, <c>busId</c> at offset 36.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NvmlPciInfo
{
    /// <summary>NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE.</summary>
    internal const int BusIdLegacySize = 16;

    /// <summary>NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE.</summary>
    internal const int BusIdSize = 32;

    public fixed byte BusIdLegacy[BusIdLegacySize];
    public uint Domain;
    public uint Bus;
    public uint Device;
    public uint PciDeviceId;
    public uint PciSubSystemId;
    public fixed byte BusId[BusIdSize];
}
