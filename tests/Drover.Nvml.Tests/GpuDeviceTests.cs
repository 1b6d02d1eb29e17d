using Drover.Nvml.Interop;
using Drover.Nvml.Tests.Fakes;

namespace Drover.Nvml.Tests;

[Collection(FakeNvmlCollection.Name)]
public sealed class GpuDeviceTests(FakeNvmlFixture fixture)
{
    [Fact]
    public void Reads_TwoGpus_ReturnScenarioValues()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var devices = nvml.GetDevices().Value;

        Assert.Equal(new GpuMemory(85899345920, 1073741824, 85899345920 - 1073741824 - 536870912, 536870912), devices[0].GetMemory().Value);
        Assert.Equal(new GpuUtilization(35, 20), devices[0].GetUtilization().Value);
        Assert.Equal(45u, devices[0].GetTemperatureC().Value);
        Assert.Equal(120000u, devices[0].GetPowerMilliwatts().Value);
        Assert.False(devices[0].GetMigEnabled().Value);
        Assert.Equal([new GpuProcess(1234, 1073741824), new GpuProcess(5678, 2147483648)], devices[0].GetComputeProcesses().Value);

        Assert.Equal(new GpuMemory(85520809984, 2147483648, 85520809984 - 2147483648, 0), devices[1].GetMemory().Value);
        Assert.Equal(new GpuUtilization(90, 60), devices[1].GetUtilization().Value);
        Assert.Equal(71u, devices[1].GetTemperatureC().Value);
        Assert.Equal(300500u, devices[1].GetPowerMilliwatts().Value);
        Assert.Empty(devices[1].GetComputeProcesses().Value);
    }

    /// <summary>The operators' fields, each through its NVML call on the stand-in: defaults, then the scenario's values.</summary>
    [Fact]
    public void OperatorFields_Scenario_ReadThroughTheirCalls()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var device = nvml.GetDevices().Value[0];
        Assert.Equal((1980u, 2619u), (device.GetClockMhz(GpuClock.Sm).Value, device.GetClockMhz(GpuClock.Memory).Value));
        Assert.Equal(GpuClockEventReasons.None, device.GetClockEventReasons().Value);
        Assert.True(NvmlInterop.HasClocksEventReasons);

        scenario.Write(Scenario.TwoGpus("""
            gpu.0.clock_sm=1410
            gpu.0.clock_mem=1593
            gpu.0.clock_event_reasons=0x44
            gpu.0.energy_mj=123456789012
            gpu.0.pcie_tx_kbps=5000
            gpu.0.pcie_rx_kbps=7000
            gpu.0.pcie_replays=12
            gpu.0.util_encoder=15
            gpu.0.util_decoder=25
            gpu.0.ecc_corrected=0x100000000
            gpu.0.ecc_uncorrected=2
            gpu.0.remapped_corrected=3
            gpu.0.remapped_uncorrected=1
            gpu.0.remap_pending=1
            """));

        Assert.Equal(1410u, device.GetClockMhz(GpuClock.Sm).Value);
        Assert.Equal(1593u, device.GetClockMhz(GpuClock.Memory).Value);
        Assert.Equal(GpuClockEventReasons.SwPowerCap | GpuClockEventReasons.HwThermalSlowdown, device.GetClockEventReasons().Value);
        Assert.Equal(123456789012UL, device.GetTotalEnergyMillijoules().Value);
        Assert.Equal(5000u, device.GetPcieThroughputKilobytesPerSecond(PcieDirection.Transmit).Value);
        Assert.Equal(7000u, device.GetPcieThroughputKilobytesPerSecond(PcieDirection.Receive).Value);
        Assert.Equal(12u, device.GetPcieReplayCount().Value);
        Assert.Equal(15u, device.GetEncoderUtilizationPercent().Value);
        Assert.Equal(25u, device.GetDecoderUtilizationPercent().Value);
        Assert.Equal(0x100000000UL, device.GetEccErrors(EccErrorKind.Corrected).Value);
        Assert.Equal(2UL, device.GetEccErrors(EccErrorKind.Uncorrected).Value);
        Assert.Equal(new GpuRemappedRows(3, 1, true, false), device.GetRemappedRows().Value);
    }

    [Fact]
    public void OperatorFields_GpuWithoutThem_AnswerNotSupported()
    {
        using var scenario = new Scenario(Scenario.TwoGpus("gpu.0.unsupported=ecc,remapped_rows,pcie"));
        using var nvml = fixture.Create(scenario);
        var device = nvml.GetDevices().Value[0];

        Assert.Equal(NvmlReturn.NotSupported, device.GetEccErrors(EccErrorKind.Corrected).Error!.Code);
        Assert.Equal(NvmlReturn.NotSupported, device.GetRemappedRows().Error!.Code);
        Assert.Equal(NvmlReturn.NotSupported, device.GetPcieReplayCount().Error!.Code);
        Assert.True(device.GetClockMhz(GpuClock.Sm).IsSuccess);
    }

    /// <summary>A driver before R535 has no nvmlDeviceGetCurrentClocksEventReasons: the older name answers, chosen at initialisation.</summary>
    [Fact]
    public void GetClockEventReasons_LibraryBeforeR535_ReadThroughTheThrottleReasonsName()
    {
        using var scenario = new Scenario(Scenario.TwoGpus("export.nvmlDeviceGetCurrentClocksEventReasons=0\ngpu.0.clock_event_reasons=0x8"));
        using var nvml = fixture.Create(scenario);
        var device = nvml.GetDevices().Value[0];

        Assert.False(NvmlInterop.HasClocksEventReasons);
        var reasons = device.GetClockEventReasons();
        Assert.Equal(GpuClockEventReasons.HwSlowdown, reasons.Value);
    }

    [Fact]
    public void GetMemory_ScenarioChanged_NextReadReturnsNewValues()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var device = nvml.GetDevices().Value[0];
        Assert.Equal(1073741824ul, device.GetMemory().Value.UsedBytes);

        scenario.Write(Scenario.TwoGpus("gpu.0.memory_used=42949672960\ngpu.0.memory_reserved=0"));

        Assert.Equal(new GpuMemory(85899345920, 42949672960, 42949672960, 0), device.GetMemory().Value);
    }

    [Fact]
    public void GetMemory_OnlyV1Available_CountsReservedAsUsed()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        ((NvmlClient)nvml).ForceMemoryInfoV1 = true;

        var memory = nvml.GetDevices().Value[0].GetMemory().Value;

        Assert.Equal(new GpuMemory(85899345920, 1073741824 + 536870912, 85899345920 - 1073741824 - 536870912, 0), memory);
    }

    [Fact]
    public void GetMemory_UsedAboveTotal_FreeIsZero()
    {
        using var scenario = new Scenario("gpu.count=1\ngpu.0.memory_total=100\ngpu.0.memory_used=90\ngpu.0.memory_reserved=20\n");
        using var nvml = fixture.Create(scenario);

        Assert.Equal(new GpuMemory(100, 90, 0, 20), nvml.GetDevices().Value[0].GetMemory().Value);
    }

    [Fact]
    public void Reads_NotSupportedGpu_ReturnNotSupportedButIdentityWorks()
    {
        using var scenario = new Scenario(Scenario.TwoGpus("gpu.1.state=not_supported"));
        using var nvml = fixture.Create(scenario);
        var devices = nvml.GetDevices().Value;

        Assert.Equal("GPU-11111111-1111-1111-1111-111111111111", devices[1].Uuid);
        AssertEveryReadFails(devices[1], NvmlReturn.NotSupported, "Not Supported");
        Assert.True(devices[0].GetMemory().IsSuccess);
    }

    [Fact]
    public void Reads_NoPermissionGpu_ReturnNoPermission()
    {
        using var scenario = new Scenario(Scenario.TwoGpus("gpu.0.state=no_permission"));
        using var nvml = fixture.Create(scenario);
        var devices = nvml.GetDevices().Value;

        AssertEveryReadFails(devices[0], NvmlReturn.NoPermission, "Insufficient Permissions");
        Assert.True(devices[1].GetMemory().IsSuccess);
    }

    [Fact]
    public void GetUtilization_MigEnabled_ReturnsNotSupported()
    {
        using var scenario = new Scenario(Scenario.TwoGpus("gpu.0.mig=1"));
        using var nvml = fixture.Create(scenario);
        var device = nvml.GetDevices().Value[0];

        Assert.True(device.GetMigEnabled().Value);
        Assert.Equal(NvmlReturn.NotSupported, device.GetUtilization().Error?.Code);
        Assert.True(device.GetMemory().IsSuccess);
    }

    [Fact]
    public void GetComputeProcesses_MoreThanFirstBuffer_ReturnsAll()
    {
        var count = GpuDevice.InitialProcessCapacity + 8;
        var processes = Enumerable.Range(1, count).Select(i => new GpuProcess((uint)(1000 + i), (ulong)i << 20)).ToArray();
        using var scenario = new Scenario(Scenario.TwoGpus($"gpu.1.processes={string.Join(',', processes.Select(p => $"{p.Pid}:{p.UsedMemoryBytes}"))}"));
        using var nvml = fixture.Create(scenario);
        var device = nvml.GetDevices().Value[1];

        var first = device.GetComputeProcesses().Value;
        var second = device.GetComputeProcesses().Value;

        Assert.Equal(processes, first);
        Assert.Same(first, second);
    }

    [Fact]
    public void GetComputeProcesses_ProcessesChange_ReturnsNewList()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var device = nvml.GetDevices().Value[0];
        var before = device.GetComputeProcesses().Value;

        scenario.Write(Scenario.TwoGpus("gpu.0.processes=1234:1073741824"));
        var after = device.GetComputeProcesses().Value;
        scenario.Write(Scenario.TwoGpus("gpu.0.processes="));
        var none = device.GetComputeProcesses().Value;

        Assert.Equal(2, before.Count);
        Assert.Equal([new GpuProcess(1234, 1073741824)], after);
        Assert.Empty(none);
    }

    /// <summary>The scenario lines that make the stand-in each driver generation (README, "stand-in NVML").</summary>
    public static TheoryData<string, string, string, int> DriverGenerations => new()
    {
        // driver, scenario lines, the call the binding must use, the record size it must read
        {
            "R510/R515 without _v3",
            "export.nvmlDeviceGetComputeRunningProcesses_v3=0\nexport.nvmlDeviceGetConfComputeMemSizeInfo=0\nexport.nvmlDeviceGetRunningProcessDetailList=0",
            NvmlProcessList.ComputeProcessesV2Symbol,
            24
        },
        {
            "535.43-535.86",
            "process_record_bytes=32\nexport.nvmlDeviceGetRunningProcessDetailList=0",
            NvmlProcessList.ComputeProcessesV3Symbol,
            32
        },
        {
            // 535.98 exports no _v3; the 32-byte records of its predecessors must not leak into _v2.
            "535.98",
            "export.nvmlDeviceGetComputeRunningProcesses_v3=0\nprocess_record_bytes=32",
            NvmlProcessList.ComputeProcessesV2Symbol,
            24
        },
        { "535.104+, 545-560", string.Empty, NvmlProcessList.ComputeProcessesV3Symbol, 24 },
    };

    [Theory]
    [MemberData(nameof(DriverGenerations))]
    public void GetComputeProcesses_DriverGeneration_ReadsEveryProcess(string driver, string lines, string symbol, int recordBytes)
    {
        // 40 is past the first buffer (32 records) and past the 24 records of 32 bytes that fit in 32 of 24 bytes.
        var processes = Enumerable.Range(1, 40).Select(i => new GpuProcess((uint)(4000 + i), ((ulong)i << 30) + (ulong)i)).ToArray();
        using var scenario = new Scenario(Scenario.TwoGpus($"{lines}\ngpu.0.processes={Processes(processes[..2])}\ngpu.1.processes={Processes(processes)}"));
        using var nvml = fixture.Create(scenario);
        var devices = nvml.GetDevices().Value;

        var two = devices[0].GetComputeProcesses().Value;
        var forty = devices[1].GetComputeProcesses().Value;

        var list = ((NvmlClient)nvml).ProcessList!;
        Assert.True(symbol == list.Symbol, $"{driver}: {list.Symbol}");
        Assert.Equal(recordBytes, list.RecordBytes);
        Assert.Equal(processes[..2], two);
        Assert.Equal(processes, forty);
    }

    [Fact]
    public void GetComputeProcesses_R535RecordsFillingTheFirstBuffer_ReadsEveryProcess()
    {
        // Exactly the first buffer's capacity: 32 records of 32 bytes, 256 bytes more than 32 records of 24.
        var processes = Enumerable.Range(1, GpuDevice.InitialProcessCapacity).Select(i => new GpuProcess((uint)i, (ulong)i << 20)).ToArray();
        using var scenario = new Scenario(Scenario.TwoGpus($"process_record_bytes=32\nexport.nvmlDeviceGetRunningProcessDetailList=0\ngpu.1.processes={Processes(processes)}"));
        using var nvml = fixture.Create(scenario);

        Assert.Equal(processes, nvml.GetDevices().Value[1].GetComputeProcesses().Value);
    }

    [Fact]
    public void GetComputeProcesses_NoV3_FailsNamingV2()
    {
        using var scenario = new Scenario(Scenario.TwoGpus("export.nvmlDeviceGetComputeRunningProcesses_v3=0\ngpu.1.state=no_permission"));
        using var nvml = fixture.Create(scenario);

        var error = nvml.GetDevices().Value[1].GetComputeProcesses().Error;

        Assert.Equal(new NvmlError(NvmlReturn.NoPermission, "Insufficient Permissions", NvmlProcessList.ComputeProcessesV2Symbol), error);
    }

    [Fact]
    public void GetComputeProcesses_MemoryNotAvailable_IsNull()
    {
        using var scenario = new Scenario(Scenario.TwoGpus("gpu.0.processes=42:0xFFFFFFFFFFFFFFFF,43:0xFFFFFFFFFFFFFFFE,44:0"));
        using var nvml = fixture.Create(scenario);

        var processes = nvml.GetDevices().Value[0].GetComputeProcesses().Value;

        Assert.Equal([new GpuProcess(42, null), new GpuProcess(43, 0xFFFFFFFFFFFFFFFE), new GpuProcess(44, 0)], processes);
    }

    [Fact]
    public void GetMemory_UsedNotAvailable_IsNull()
    {
        using var scenario = new Scenario("gpu.count=1\ngpu.0.memory_total=100\ngpu.0.memory_used=0xFFFFFFFFFFFFFFFF\n");
        using var nvml = fixture.Create(scenario);

        Assert.Equal(new GpuMemory(100, null, 0, 0), nvml.GetDevices().Value[0].GetMemory().Value);
    }

    [Fact]
    public void Reads_MalformedLines_AreIgnoredAndTheRestApplies()
    {
        using var scenario = new Scenario("""
            gpu.count=1
            this line has no equals sign
            gpu.0.util_gpu=150
            gpu.0.util_memory=12
            gpu.0.memory_used=-1
            gpu.0.temperature=0x3C
            gpu.99.name=out of range
            gpu.0.processes=1:2,oops
            gpu.0.state=melted
            gpu.0.some_future_key=1
            export.nvmlInit_v2=0
            export.nvmlDeviceGetComputeRunningProcesses_v3=2
            process_record_bytes=16
            """);
        using var nvml = fixture.Create(scenario);

        var device = Assert.Single(nvml.GetDevices().Value);

        Assert.Equal(new GpuUtilization(0, 12), device.GetUtilization().Value);
        Assert.Equal(0ul, device.GetMemory().Value.UsedBytes);
        Assert.Equal(60u, device.GetTemperatureC().Value);
        Assert.Empty(device.GetComputeProcesses().Value);
        Assert.True(device.GetPowerMilliwatts().IsSuccess);
        Assert.Equal((NvmlProcessList.ComputeProcessesV3Symbol, 24), (((NvmlClient)nvml).ProcessList!.Symbol, ((NvmlClient)nvml).ProcessList!.RecordBytes));
    }

    [Fact]
    public void Initialize_MalformedLine_WritesOneMessageNamingTheLine()
    {
        using var scenario = new Scenario("gpu.count=1\n# comment\n\ngpu.0.util_gpu=150\n");
        using var nvml = NvmlFactory.Create(new NvmlOptions { LibraryPath = fixture.LibraryPath });
        FakeNvmlFixture.Activate(scenario);

        var stderr = NativeEnvironment.CaptureStandardError(() => Assert.True(nvml.Initialize().IsSuccess));

        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"{scenario.Path}:4:", line, StringComparison.Ordinal);
        Assert.Contains("gpu.0.util_gpu=150", line, StringComparison.Ordinal);
    }

    private static string Processes(IEnumerable<GpuProcess> processes) =>
        string.Join(',', processes.Select(p => $"{p.Pid}:{p.UsedMemoryBytes}"));

    private static void AssertEveryReadFails(IGpuDevice device, NvmlReturn code, string message)
    {
        Assert.Equal(new NvmlError(code, message, "nvmlDeviceGetMemoryInfo_v2"), device.GetMemory().Error);
        Assert.Equal(new NvmlError(code, message, "nvmlDeviceGetUtilizationRates"), device.GetUtilization().Error);
        Assert.Equal(new NvmlError(code, message, "nvmlDeviceGetTemperature"), device.GetTemperatureC().Error);
        Assert.Equal(new NvmlError(code, message, "nvmlDeviceGetPowerUsage"), device.GetPowerMilliwatts().Error);
        Assert.Equal(new NvmlError(code, message, "nvmlDeviceGetMigMode"), device.GetMigEnabled().Error);
        Assert.Equal(new NvmlError(code, message, "nvmlDeviceGetComputeRunningProcesses_v3"), device.GetComputeProcesses().Error);
    }
}
