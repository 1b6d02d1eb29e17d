using System.Reflection;
using System.Runtime.InteropServices;
using Drover.Nvml.Interop;
using Drover.Nvml.Tests.Fakes;

namespace Drover.Nvml.Tests.Interop;

/// <summary>The stand-in library through the raw interop: the ABI details the binding relies on.</summary>
[Collection(FakeNvmlCollection.Name)]
public sealed unsafe class FakeNvmlLibraryTests(FakeNvmlFixture fixture)
{
    [Fact]
    public void Exports_EveryImportedEntryPoint_IsExportedByTheStandIn()
    {
        var entryPoints = typeof(NvmlInterop)
            .GetMethods(BindingFlags.Static | BindingFlags.NonPublic)
            .Select(method => method.GetCustomAttribute<LibraryImportAttribute>()?.EntryPoint)
            .OfType<string>()
            .ToArray();
        var library = NativeLibrary.Load(fixture.LibraryPath);
        try
        {
            Assert.Equal(34, entryPoints.Length);
            Assert.All(entryPoints, symbol => Assert.True(NativeLibrary.TryGetExport(library, symbol, out _), symbol));
            Assert.Subset(entryPoints.ToHashSet(), NvmlInterop.RequiredSymbols.ToHashSet());
        }
        finally
        {
            NativeLibrary.Free(library);
        }
    }

    [Fact]
    public void Calls_BeforeInit_ReturnUninitialized()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using (var nvml = fixture.Create(scenario))
        {
            Assert.True(nvml.Initialize().IsSuccess);
        }

        uint count = 0;
        Assert.Equal(NvmlReturn.Uninitialized, NvmlInterop.DeviceGetCount(&count));
        Assert.Equal(NvmlReturn.Uninitialized, NvmlInterop.Shutdown());
    }

    [Fact]
    public void ErrorString_EveryCode_ReturnsNvmlText()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        Assert.True(nvml.Initialize().IsSuccess);

        Assert.Equal("Success", NvmlErrors.Message(NvmlReturn.Success));
        Assert.Equal("Uninitialized", NvmlErrors.Message(NvmlReturn.Uninitialized));
        Assert.Equal("Insufficient Size", NvmlErrors.Message(NvmlReturn.InsufficientSize));
        Assert.Equal("Timeout", NvmlErrors.Message(NvmlReturn.Timeout));
        Assert.Equal("GPU is lost", NvmlErrors.Message(NvmlReturn.GpuIsLost));
        Assert.Equal("Unknown Error", NvmlErrors.Message(NvmlReturn.Unknown));
        Assert.All(Enum.GetValues<NvmlReturn>(), code => Assert.False(string.IsNullOrEmpty(NvmlErrors.Message(code))));
    }

    [Fact]
    public void MemoryInfoV2_WrongVersion_ReturnsArgumentVersionMismatch()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var handle = ((GpuDevice)nvml.GetDevices().Value[0]).Handle;

        var memory = new NvmlMemoryV2 { Version = 0x01000028 };
        Assert.Equal(NvmlReturn.ArgumentVersionMismatch, NvmlInterop.DeviceGetMemoryInfoV2(handle, &memory));
        memory.Version = NvmlMemoryV2.StructVersion;
        Assert.Equal(NvmlReturn.Success, NvmlInterop.DeviceGetMemoryInfoV2(handle, &memory));
        Assert.Equal(536870912ul, memory.Reserved);
    }

    [Fact]
    public void ComputeRunningProcesses_ZeroCount_ReturnsInsufficientSizeWithNeededCount()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var devices = nvml.GetDevices().Value;
        var busy = ((GpuDevice)devices[0]).Handle;
        var idle = ((GpuDevice)devices[1]).Handle;
        var list = ((NvmlClient)nvml).ProcessList!;

        uint count = 0;
        Assert.Equal(NvmlReturn.InsufficientSize, list.Invoke(busy, &count, null));
        Assert.Equal(2u, count);
        var infos = stackalloc NvmlProcessInfo[2];
        Assert.Equal(NvmlReturn.Success, list.Invoke(busy, &count, (byte*)infos));
        Assert.Equal(5678u, infos[1].Pid);
        Assert.Equal(0xFFFFFFFFu, infos[1].GpuInstanceId);
        count = 0;
        Assert.Equal(NvmlReturn.Success, list.Invoke(idle, &count, null));
        Assert.Equal(0u, count);
    }

    [Theory]
    [InlineData(NvmlProcessList.ComputeProcessesV3Symbol)]
    [InlineData(NvmlProcessList.ComputeProcessesV2Symbol)]
    [InlineData(NvmlProcessList.ConfComputeMemSizeInfoSymbol)]
    [InlineData(NvmlProcessList.RunningProcessDetailListSymbol)]
    public void Exports_ScenarioHidesSymbol_DlsymFindsNothingUntilShownAgain(string symbol)
    {
        using var scenario = new Scenario($"gpu.count=1\nexport.{symbol}=0\n");
        FakeNvmlFixture.Activate(scenario);
        var library = NativeLibrary.Load(fixture.LibraryPath);
        try
        {
            Assert.False(NativeLibrary.TryGetExport(library, symbol, out var hidden) && hidden != 0);
            Assert.True(NativeLibrary.TryGetExport(library, "nvmlInit_v2", out _));

            scenario.Write("gpu.count=1\n");

            Assert.True(NativeLibrary.TryGetExport(library, symbol, out var shown) && shown != 0);
        }
        finally
        {
            NativeLibrary.Free(library);
        }
    }

    [Fact]
    public void ComputeRunningProcesses_V3With32ByteRecords_WritesRecords32BytesApart()
    {
        using var scenario = new Scenario(Scenario.TwoGpus("process_record_bytes=32"));
        using var nvml = fixture.Create(scenario);
        var busy = ((GpuDevice)nvml.GetDevices().Value[0]).Handle;
        Assert.True(NvmlLibrary.TryGetExport(NvmlProcessList.ComputeProcessesV3Symbol, out var v3));
        Assert.True(NvmlLibrary.TryGetExport(NvmlProcessList.ComputeProcessesV2Symbol, out var v2));

        var records = stackalloc NvmlProcessInfoCc[2];
        uint count = 2;
        Assert.Equal(NvmlReturn.Success, new NvmlProcessList(NvmlProcessList.ComputeProcessesV3Symbol, 32, v3).Invoke(busy, &count, (byte*)records));
        Assert.Equal(5678u, records[1].Pid);
        Assert.Equal(2147483648ul, records[1].UsedGpuMemory);
        Assert.Equal(0ul, records[1].UsedGpuCcProtectedMemory);

        var v2Records = stackalloc NvmlProcessInfo[2];
        Assert.Equal(NvmlReturn.Success, new NvmlProcessList(NvmlProcessList.ComputeProcessesV2Symbol, 24, v2).Invoke(busy, &count, (byte*)v2Records));
        Assert.Equal(5678u, v2Records[1].Pid);
    }

    [Fact]
    public void PciInfo_V3_FillsLegacyAndFullBusIds()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var handle = ((GpuDevice)nvml.GetDevices().Value[1]).Handle;

        NvmlPciInfo pci = default;
        Assert.Equal(NvmlReturn.Success, NvmlInterop.DeviceGetPciInfo(handle, &pci));

        Assert.Equal(0x2Au, pci.Bus);
        Assert.Equal("0000:2A:00.0", NvmlClient.Utf8(pci.BusIdLegacy, NvmlPciInfo.BusIdLegacySize));
        Assert.Equal("00000000:2A:00.0", NvmlClient.Utf8(pci.BusId, NvmlPciInfo.BusIdSize));
    }

    [Fact]
    public void Uuid_BufferTooSmall_ReturnsInsufficientSize()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var handle = ((GpuDevice)nvml.GetDevices().Value[0]).Handle;

        var buffer = stackalloc byte[8];
        Assert.Equal(NvmlReturn.InsufficientSize, NvmlInterop.DeviceGetUuid(handle, buffer, 8));
    }

    [Fact]
    public void HandleByIndex_IndexBeyondCount_ReturnsInvalidArgument()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        Assert.True(nvml.Initialize().IsSuccess);

        nint handle = 0;
        Assert.Equal(NvmlReturn.InvalidArgument, NvmlInterop.DeviceGetHandleByIndex(2, &handle));
        Assert.Equal(NvmlReturn.InvalidArgument, NvmlInterop.DeviceGetMemoryInfo(0x1234, null));
    }
}
