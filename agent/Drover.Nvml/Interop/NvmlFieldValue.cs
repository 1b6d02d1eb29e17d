using System.Runtime.InteropServices;

namespace Drover.Nvml.Interop;

/// <summary>
/// <c>nvmlFieldValue_t</c>: 40 bytes, offsets 0/4/8/16/24/28/32. <see cref="Value"/> holds the raw 8 bytes of
/// <c>nvmlValue_t</c>, read as <see cref="ValueType"/> says (<see cref="Read"/>).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NvmlFieldValue
{
    /// <summary>NVML_FI_DEV_MEMORY_TEMP: the memory (HBM) temperature, °C.</summary>
    internal const uint MemoryTemperature = 82;

    public uint FieldId;
    public uint ScopeId;
    public long Timestamp;
    public long LatencyMicroseconds;
    public int ValueType;
    public NvmlReturn Return;
    public ulong Value;

    /// <summary>The value as an unsigned number, whatever type NVML stored it as (<c>nvmlValueType_t</c>); negatives and NaN read 0.</summary>
    public readonly ulong Read() => ValueType switch
    {
        0 => BitConverter.Int64BitsToDouble((long)Value) is var d && d > 0 ? (ulong)Math.Min(d, ulong.MaxValue) : 0, // double
        1 => (uint)Value, // unsigned int
        4 => (long)Value > 0 ? Value : 0, // signed long long
        5 => (int)(uint)Value > 0 ? (uint)Value : 0, // signed int
        6 => (ushort)Value, // unsigned short
        _ => Value, // unsigned long (8 bytes on LP64), unsigned long long
    };
}
