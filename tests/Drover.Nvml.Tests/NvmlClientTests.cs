using Drover.Nvml.Interop;
using Drover.Nvml.Tests.Fakes;

namespace Drover.Nvml.Tests;

[Collection(FakeNvmlCollection.Name)]
public sealed class NvmlClientTests(FakeNvmlFixture fixture)
{
    [Fact]
    public void Initialize_OkScenario_ReturnsDriverVersion()
    {
        using var scenario = new Scenario(Scenario.TwoGpus().Replace("550.54.15", "555.42.06", StringComparison.Ordinal));
        using var nvml = fixture.Create(scenario);

        var result = nvml.Initialize();

        Assert.True(result.IsSuccess, result.ToString());
        Assert.Equal("555.42.06", result.Value);
    }

    [Fact]
    public void Initialize_CalledTwice_ReturnsSameVersionAndNeedsOneDispose()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        var nvml = fixture.Create(scenario);

        Assert.Equal("550.54.15", nvml.Initialize().Value);
        Assert.Equal("550.54.15", nvml.Initialize().Value);
        nvml.Dispose();

        Assert.Equal(NvmlReturn.Uninitialized, NvmlInterop.Shutdown());
    }

    /// <summary>
    /// Shut down to recover: device calls answer UNINITIALIZED without reaching the library (a handle from before
    /// is not valid), NVML's count is back to 0, and the next initialisation refreshes the same device objects.
    /// </summary>
    [Fact]
    public void Shutdown_ThenInitialize_SameDevicesAnswerAgain()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var before = nvml.GetDevices().Value;

        nvml.Shutdown(TimeSpan.FromSeconds(5));

        Assert.Equal(NvmlReturn.Uninitialized, before[0].GetMemory().Error!.Code);
        Assert.Equal(NvmlReturn.Uninitialized, NvmlInterop.Shutdown());
        Assert.True(nvml.Initialize().IsSuccess);
        var after = nvml.GetDevices().Value;
        Assert.Same(before[0], after[0]);
        Assert.True(after[0].GetMemory().IsSuccess);
    }

    /// <summary>A driver reloaded under the library: its GPUs are lost to the old initialisation, and a shutdown and initialisation brings them back.</summary>
    [Fact]
    public void Shutdown_DriverReloadedUnderIt_GpusAnswerAgainAfterInitialize()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var device = nvml.GetDevices().Value[0];

        scenario.Write(Scenario.TwoGpus("driver_epoch=7"));
        Assert.Equal(NvmlReturn.GpuIsLost, device.GetMemory().Error!.Code);
        Assert.Empty(nvml.Rescan().Value);

        nvml.Shutdown(TimeSpan.FromSeconds(5));
        Assert.Equal(2, nvml.Rescan().Value.Count);
        Assert.True(device.GetMemory().IsSuccess);
    }

    /// <summary>The event set a thread waits on is freed only once the wait returned, and NVML is shut down after it.</summary>
    [Fact]
    public async Task Shutdown_DuringAWait_WaitReturnsFirst()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var events = nvml.CreateEventSet(nvml.GetDevices().Value, GpuEventTypes.XidCriticalError).Value;
        var waiting = WaitingThread.Start(events, TimeSpan.FromMilliseconds(300));

        nvml.Shutdown(TimeSpan.FromSeconds(5));
        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(result.IsSuccess || result.Error.Code == NvmlReturn.InvalidState, result.ToString());
        Assert.Equal(NvmlReturn.InvalidState, events.Wait(TimeSpan.Zero).Error!.Code);
        Assert.Equal(NvmlReturn.Uninitialized, NvmlInterop.Shutdown());
    }

    [Theory]
    [InlineData("version_mismatch", NvmlReturn.LibRmVersionMismatch, "Driver/library version mismatch")]
    [InlineData("driver_not_loaded", NvmlReturn.DriverNotLoaded, "Driver Not Loaded")]
    [InlineData("no_permission", NvmlReturn.NoPermission, "Insufficient Permissions")]
    public void Initialize_InitFails_ReturnsNvmlCodeAndText(string init, NvmlReturn expected, string message)
    {
        using var scenario = new Scenario($"init={init}\ngpu.count=1\n");
        using var nvml = fixture.Create(scenario);

        var result = nvml.Initialize();

        Assert.False(result.IsSuccess);
        Assert.Equal(new NvmlError(expected, message, "nvmlInit_v2"), result.Error);
        var devices = nvml.GetDevices();
        Assert.Equal(expected, devices.Error?.Code);
    }

    [Fact]
    public void Initialize_ScenarioFixedAfterFailure_Succeeds()
    {
        using var scenario = new Scenario("init=driver_not_loaded\ngpu.count=1\n");
        using var nvml = fixture.Create(scenario);
        Assert.Equal(NvmlReturn.DriverNotLoaded, nvml.Initialize().Error?.Code);

        scenario.Write("init=ok\ngpu.count=1\n");

        Assert.True(nvml.Initialize().IsSuccess);
        Assert.Single(nvml.GetDevices().Value);
    }

    [Fact]
    public void Initialize_NeitherV3NorV2Exported_ReturnsFunctionNotFoundUntilOneIs()
    {
        using var scenario = new Scenario(Scenario.TwoGpus(
            "export.nvmlDeviceGetComputeRunningProcesses_v3=0\nexport.nvmlDeviceGetComputeRunningProcesses_v2=0"));
        using var nvml = fixture.Create(scenario);

        var error = nvml.Initialize().Error;

        Assert.Equal(NvmlReturn.FunctionNotFound, error?.Code);
        Assert.Contains("'nvmlDeviceGetComputeRunningProcesses_v3' nor 'nvmlDeviceGetComputeRunningProcesses_v2'", error?.Message, StringComparison.Ordinal);
        scenario.Write(Scenario.TwoGpus("export.nvmlDeviceGetComputeRunningProcesses_v3=0"));
        Assert.True(nvml.Initialize().IsSuccess);
        Assert.Equal(2, nvml.GetDevices().Value.Count);
    }

    [Fact]
    public void Initialize_MissingLibraryPath_ReturnsLibraryNotFoundNamingPath()
    {
        var path = Path.Combine(Path.GetTempPath(), $"drover-no-such-dir-{Guid.NewGuid():N}", "libnvidia-ml.so.1");
        using var nvml = NvmlFactory.Create(new NvmlOptions { LibraryPath = path });

        var result = nvml.Initialize();

        Assert.False(result.IsSuccess);
        Assert.Equal(NvmlReturn.LibraryNotFound, result.Error.Code);
        Assert.Contains(path, result.Error.Message, StringComparison.Ordinal);
        Assert.Equal(NvmlReturn.LibraryNotFound, nvml.GetDevices().Error?.Code);
        Assert.Equal(NvmlReturn.LibraryNotFound, nvml.CreateEventSet([], GpuEventTypes.XidCriticalError).Error?.Code);
    }

    [Fact]
    public void Initialize_EmptyLibraryPath_ReturnsLibraryNotFound()
    {
        using var nvml = NvmlFactory.Create(new NvmlOptions { LibraryPath = " " });

        Assert.Equal(NvmlReturn.LibraryNotFound, nvml.Initialize().Error?.Code);
    }

    [Fact]
    public void Initialize_MissingScenarioFile_ZeroGpus()
    {
        using var scenario = new Scenario(string.Empty);
        File.Delete(scenario.Path);
        using var nvml = fixture.Create(scenario);

        Assert.Equal("550.54.15", nvml.Initialize().Value);
        Assert.Empty(nvml.GetDevices().Value);
    }

    [Fact]
    public void Dispose_TwoClients_OtherClientKeepsWorking()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var first = fixture.Create(scenario);
        using var second = NvmlFactory.Create(new NvmlOptions { LibraryPath = fixture.LibraryPath });
        var device = first.GetDevices().Value[0];
        Assert.True(second.Initialize().IsSuccess);

        second.Dispose();

        Assert.True(device.GetMemory().IsSuccess);
    }

    [Fact]
    public void Dispose_ThenCalls_ReturnUninitializedWithoutThrowing()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        var nvml = fixture.Create(scenario);
        var device = nvml.GetDevices().Value[0];

        nvml.Dispose();
        nvml.Dispose();

        Assert.Equal(NvmlReturn.Uninitialized, device.GetMemory().Error?.Code);
        Assert.Equal(NvmlReturn.Uninitialized, device.GetComputeProcesses().Error?.Code);
        Assert.Equal(NvmlReturn.Uninitialized, nvml.Initialize().Error?.Code);
        Assert.Equal(NvmlReturn.Uninitialized, nvml.Rescan().Error?.Code);
    }

    [Fact]
    public void GetDevices_TwoGpus_ReturnsIdentityByIndex()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);

        var devices = nvml.GetDevices().Value;

        Assert.Collection(
            devices,
            first =>
            {
                Assert.Equal(0, first.Index);
                Assert.Equal("GPU-00000000-0000-0000-0000-000000000000", first.Uuid);
                Assert.Equal("NVIDIA H100 80GB HBM3", first.Name);
                Assert.Equal("00000000:17:00.0", first.PciBusId);
            },
            second =>
            {
                Assert.Equal(1, second.Index);
                Assert.Equal("GPU-11111111-1111-1111-1111-111111111111", second.Uuid);
                Assert.Equal("NVIDIA H100 PCIe", second.Name);
                Assert.Equal("00000000:2A:00.0", second.PciBusId);
            });
    }

    [Fact]
    public void GetDevices_MissingKeys_UsesIndexDerivedDefaults()
    {
        using var scenario = new Scenario("gpu.count=3\n");
        using var nvml = fixture.Create(scenario);

        var devices = nvml.GetDevices().Value;

        Assert.Equal(3, devices.Count);
        Assert.Equal(3, devices.Select(device => device.Uuid).Distinct().Count());
        Assert.Equal(3, devices.Select(device => device.PciBusId).Distinct().Count());
        Assert.All(devices, device => Assert.StartsWith("GPU-", device.Uuid, StringComparison.Ordinal));
        Assert.Equal(new GpuMemory(85899345920, 0, 85899345920, 0), devices[2].GetMemory().Value);
    }

    [Fact]
    public void GetDevices_CalledTwice_ReturnsCachedList()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);

        var first = nvml.GetDevices().Value;
        scenario.Write(Scenario.TwoGpus("gpu.count=1"));
        var second = nvml.GetDevices().Value;

        Assert.Same(first, second);
        Assert.Equal(2, second.Count);
    }

    [Fact]
    public void Rescan_GpuLostThenBack_KeepsDeviceObjectAndWorksAgain()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var devices = nvml.GetDevices().Value;
        var lost = devices[1];

        scenario.Write(Scenario.TwoGpus("gpu.1.state=lost"));

        Assert.Equal(new NvmlError(NvmlReturn.GpuIsLost, "GPU is lost", "nvmlDeviceGetMemoryInfo_v2"), lost.GetMemory().Error);
        Assert.Equal(NvmlReturn.GpuIsLost, lost.GetUtilization().Error?.Code);
        Assert.True(devices[0].GetMemory().IsSuccess);
        var whileLost = nvml.Rescan().Value;
        Assert.Same(devices[0], Assert.Single(whileLost));

        scenario.Write(Scenario.TwoGpus());

        Assert.True(lost.GetMemory().IsSuccess);
        var afterReturn = nvml.Rescan().Value;
        Assert.Equal(2, afterReturn.Count);
        Assert.Same(devices[0], afterReturn[0]);
        Assert.Same(lost, afterReturn[1]);
        Assert.Equal(new GpuUtilization(90, 60), afterReturn[1].GetUtilization().Value);
    }

    [Fact]
    public void Rescan_IndexesSwapped_KeepsObjectsByUuid()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var devices = nvml.GetDevices().Value;

        scenario.Write(Scenario.TwoGpus("""
            gpu.0.uuid=GPU-11111111-1111-1111-1111-111111111111
            gpu.1.uuid=GPU-00000000-0000-0000-0000-000000000000
            """));
        var rescanned = nvml.Rescan().Value;

        Assert.Same(devices[1], rescanned[0]);
        Assert.Same(devices[0], rescanned[1]);
        Assert.Equal(0, devices[1].Index);
        Assert.Equal(1, devices[0].Index);
    }

    [Fact]
    public void CreateEventSet_DeviceFromAnotherBinding_ReturnsInvalidArgument()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var first = fixture.Create(scenario);
        using var second = NvmlFactory.Create(new NvmlOptions { LibraryPath = fixture.LibraryPath });
        var foreign = first.GetDevices().Value[0];

        var result = second.CreateEventSet([foreign], GpuEventTypes.XidCriticalError);

        Assert.Equal(NvmlReturn.InvalidArgument, result.Error?.Code);
    }
}
