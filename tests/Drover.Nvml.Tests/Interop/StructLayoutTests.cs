using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Drover.Nvml.Interop;

namespace Drover.Nvml.Tests.Interop;

/// <summary>Sizes and offsets of the interop structs against nvml.h (x86-64, gcc).</summary>
public sealed class StructLayoutTests
{
    [Fact]
    public void NvmlMemoryV2_Layout_MatchesNvmlHeader()
    {
        AssertSize<NvmlMemoryV2>(40);
        AssertOffset<NvmlMemoryV2>(nameof(NvmlMemoryV2.Version), 0);
        AssertOffset<NvmlMemoryV2>(nameof(NvmlMemoryV2.Total), 8);
        AssertOffset<NvmlMemoryV2>(nameof(NvmlMemoryV2.Reserved), 16);
        AssertOffset<NvmlMemoryV2>(nameof(NvmlMemoryV2.Free), 24);
        AssertOffset<NvmlMemoryV2>(nameof(NvmlMemoryV2.Used), 32);
    }

    [Fact]
    public void NvmlFieldValue_Layout_MatchesNvmlHeader()
    {
        AssertSize<NvmlFieldValue>(40);
        AssertOffset<NvmlFieldValue>(nameof(NvmlFieldValue.ScopeId), 4);
        AssertOffset<NvmlFieldValue>(nameof(NvmlFieldValue.Timestamp), 8);
        AssertOffset<NvmlFieldValue>(nameof(NvmlFieldValue.LatencyMicroseconds), 16);
        AssertOffset<NvmlFieldValue>(nameof(NvmlFieldValue.ValueType), 24);
        AssertOffset<NvmlFieldValue>(nameof(NvmlFieldValue.Return), 28);
        AssertOffset<NvmlFieldValue>(nameof(NvmlFieldValue.Value), 32);
    }

    /// <summary>nvmlValue_t read as its nvmlValueType_t says: each of the seven types, negatives and NaN as 0.</summary>
    [Theory]
    [InlineData(0, 0x4052C00000000000UL, 75UL)] // double 75.0
    [InlineData(0, 0x7FF8000000000000UL, 0UL)] // double NaN
    [InlineData(1, 0xFFFFFFFF_0000003DUL, 61UL)] // unsigned int: the upper bytes are not its
    [InlineData(2, 1UL << 40, 1UL << 40)] // unsigned long (8 bytes on LP64)
    [InlineData(3, 1UL << 40, 1UL << 40)] // unsigned long long
    [InlineData(4, 0xFFFFFFFF_FFFFFFFFUL, 0UL)] // signed long long -1
    [InlineData(5, 0x00000000_FFFFFFFFUL, 0UL)] // signed int -1
    [InlineData(6, 0xFFFF_0000_0000_0035UL, 53UL)] // unsigned short
    public void NvmlFieldValue_Read_ByValueType(int valueType, ulong raw, ulong expected)
        => Assert.Equal(expected, new NvmlFieldValue { ValueType = valueType, Value = raw }.Read());

    [Fact]
    public void NvmlGpm_Layout_MatchesNvmlHeader()
    {
        AssertSize<NvmlGpmSupport>(8);
        Assert.Equal(24 + (333 * 40), NvmlGpm.MetricsGetBytes);
    }

    [Fact]
    public void NvmlMemoryV2_StructVersion_IsSizeOrVersionTwoShiftedBy24()
    {
        Assert.Equal(0x02000028u, NvmlMemoryV2.StructVersion);
        Assert.Equal(NvmlMemoryV2.StructVersion, (uint)Unsafe.SizeOf<NvmlMemoryV2>() | (2u << 24));
    }

    [Fact]
    public void NvmlMemory_Layout_MatchesNvmlHeader()
    {
        AssertSize<NvmlMemory>(24);
        AssertOffset<NvmlMemory>(nameof(NvmlMemory.Total), 0);
        AssertOffset<NvmlMemory>(nameof(NvmlMemory.Free), 8);
        AssertOffset<NvmlMemory>(nameof(NvmlMemory.Used), 16);
    }

    [Fact]
    public void NvmlProcessInfo_Layout_MatchesNvmlHeader()
    {
        AssertSize<NvmlProcessInfo>(24);
        AssertOffset<NvmlProcessInfo>(nameof(NvmlProcessInfo.Pid), 0);
        AssertOffset<NvmlProcessInfo>(nameof(NvmlProcessInfo.UsedGpuMemory), 8);
        AssertOffset<NvmlProcessInfo>(nameof(NvmlProcessInfo.GpuInstanceId), 16);
        AssertOffset<NvmlProcessInfo>(nameof(NvmlProcessInfo.ComputeInstanceId), 20);
    }

    [Fact]
    public void NvmlProcessInfoCc_Layout_MatchesR535Records()
    {
        AssertSize<NvmlProcessInfoCc>(32);
        AssertOffset<NvmlProcessInfoCc>(nameof(NvmlProcessInfoCc.Pid), 0);
        AssertOffset<NvmlProcessInfoCc>(nameof(NvmlProcessInfoCc.UsedGpuMemory), 8);
        AssertOffset<NvmlProcessInfoCc>(nameof(NvmlProcessInfoCc.GpuInstanceId), 16);
        AssertOffset<NvmlProcessInfoCc>(nameof(NvmlProcessInfoCc.ComputeInstanceId), 20);
        AssertOffset<NvmlProcessInfoCc>(nameof(NvmlProcessInfoCc.UsedGpuCcProtectedMemory), 24);
    }

    [Fact]
    public void NvmlProcessList_RecordSizes_MatchTheStructs()
    {
        Assert.Equal(NvmlProcessList.V2RecordBytes, Unsafe.SizeOf<NvmlProcessInfo>());
        Assert.Equal(NvmlProcessList.CcRecordBytes, Unsafe.SizeOf<NvmlProcessInfoCc>());
        Assert.Equal(NvmlProcessList.CcRecordBytes, NvmlProcessList.MaxRecordBytes);
    }

    [Fact]
    public void NvmlEventData_Layout_MatchesNvmlHeader()
    {
        AssertSize<NvmlEventData>(32);
        AssertOffset<NvmlEventData>(nameof(NvmlEventData.Device), 0);
        AssertOffset<NvmlEventData>(nameof(NvmlEventData.EventType), 8);
        AssertOffset<NvmlEventData>(nameof(NvmlEventData.EventData), 16);
        AssertOffset<NvmlEventData>(nameof(NvmlEventData.GpuInstanceId), 24);
        AssertOffset<NvmlEventData>(nameof(NvmlEventData.ComputeInstanceId), 28);
    }

    [Fact]
    public void NvmlPciInfo_Layout_MatchesNvmlHeader()
    {
        AssertSize<NvmlPciInfo>(68);
        AssertOffset<NvmlPciInfo>(nameof(NvmlPciInfo.BusIdLegacy), 0);
        AssertOffset<NvmlPciInfo>(nameof(NvmlPciInfo.Domain), 16);
        AssertOffset<NvmlPciInfo>(nameof(NvmlPciInfo.Bus), 20);
        AssertOffset<NvmlPciInfo>(nameof(NvmlPciInfo.Device), 24);
        AssertOffset<NvmlPciInfo>(nameof(NvmlPciInfo.PciDeviceId), 28);
        AssertOffset<NvmlPciInfo>(nameof(NvmlPciInfo.PciSubSystemId), 32);
        AssertOffset<NvmlPciInfo>(nameof(NvmlPciInfo.BusId), 36);
    }

    [Fact]
    public void NvmlUtilization_Layout_MatchesNvmlHeader()
    {
        AssertSize<NvmlUtilization>(8);
        AssertOffset<NvmlUtilization>(nameof(NvmlUtilization.Gpu), 0);
        AssertOffset<NvmlUtilization>(nameof(NvmlUtilization.Memory), 4);
    }

    [Theory]
    [InlineData(NvmlReturn.Success, 0)]
    [InlineData(NvmlReturn.Uninitialized, 1)]
    [InlineData(NvmlReturn.InvalidArgument, 2)]
    [InlineData(NvmlReturn.NotSupported, 3)]
    [InlineData(NvmlReturn.NoPermission, 4)]
    [InlineData(NvmlReturn.AlreadyInitialized, 5)]
    [InlineData(NvmlReturn.NotFound, 6)]
    [InlineData(NvmlReturn.InsufficientSize, 7)]
    [InlineData(NvmlReturn.InsufficientPower, 8)]
    [InlineData(NvmlReturn.DriverNotLoaded, 9)]
    [InlineData(NvmlReturn.Timeout, 10)]
    [InlineData(NvmlReturn.IrqIssue, 11)]
    [InlineData(NvmlReturn.LibraryNotFound, 12)]
    [InlineData(NvmlReturn.FunctionNotFound, 13)]
    [InlineData(NvmlReturn.CorruptedInforom, 14)]
    [InlineData(NvmlReturn.GpuIsLost, 15)]
    [InlineData(NvmlReturn.ResetRequired, 16)]
    [InlineData(NvmlReturn.OperatingSystem, 17)]
    [InlineData(NvmlReturn.LibRmVersionMismatch, 18)]
    [InlineData(NvmlReturn.InUse, 19)]
    [InlineData(NvmlReturn.Memory, 20)]
    [InlineData(NvmlReturn.NoData, 21)]
    [InlineData(NvmlReturn.VgpuEccNotEnabled, 22)]
    [InlineData(NvmlReturn.InsufficientResources, 23)]
    [InlineData(NvmlReturn.FreqNotSupported, 24)]
    [InlineData(NvmlReturn.ArgumentVersionMismatch, 25)]
    [InlineData(NvmlReturn.Deprecated, 26)]
    [InlineData(NvmlReturn.NotReady, 27)]
    [InlineData(NvmlReturn.GpuNotFound, 28)]
    [InlineData(NvmlReturn.InvalidState, 29)]
    [InlineData(NvmlReturn.Unknown, 999)]
    public void NvmlReturn_Value_MatchesNvmlHeader(NvmlReturn code, int expected)
    {
        Assert.Equal(expected, (int)code);
        Assert.Equal(sizeof(int), Unsafe.SizeOf<NvmlReturn>());
    }

    [Fact]
    public void GpuEventTypes_Values_MatchNvmlHeaderMasks()
    {
        Assert.Equal(0x1ul, (ulong)GpuEventTypes.SingleBitEccError);
        Assert.Equal(0x2ul, (ulong)GpuEventTypes.DoubleBitEccError);
        Assert.Equal(0x8ul, (ulong)GpuEventTypes.XidCriticalError);
        Assert.Equal(0x4000ul, (ulong)GpuEventTypes.GpuUnavailableError);
    }

    private static void AssertSize<T>(int expected)
        where T : struct
    {
        Assert.Equal(expected, Unsafe.SizeOf<T>());
        Assert.Equal(expected, Marshal.SizeOf<T>());
    }

    private static void AssertOffset<T>(string field, int expected) =>
        Assert.Equal(expected, (int)Marshal.OffsetOf<T>(field));
}
