using Drover.Nvml.Tests.Fakes;

namespace Drover.Nvml.Tests;

[Collection(FakeNvmlCollection.Name)]
public sealed class GpuEventSetTests(FakeNvmlFixture fixture)
{
    /// <summary>A bound on waits that should end much sooner; it only keeps a broken build from hanging.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Wait_XidOnOneOfTwoGpus_DeliversOneEventForThatGpu()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var devices = nvml.GetDevices().Value;
        using var events = nvml.CreateEventSet(devices, GpuEventTypes.XidCriticalError).Value;

        // The wait runs on its own thread while this one keeps sampling, as in the agent.
        var waiting = Task.Run(() => events.Wait(Patience));
        Assert.True(devices[0].GetMemory().IsSuccess);
        scenario.Write(Scenario.TwoGpus("gpu.1.xid=79"));
        Assert.True(devices[1].GetUtilization().IsSuccess);
        var result = await waiting.WaitAsync(Patience * 2);

        Assert.True(result.IsSuccess, result.ToString());
        Assert.Equal(new GpuEvent("GPU-11111111-1111-1111-1111-111111111111", GpuEventTypes.XidCriticalError, 79), result.Value);
        Assert.Null(events.Wait(TimeSpan.FromMilliseconds(20)).Value);
    }

    [Fact]
    public void Wait_XidChangesAgain_DeliversEachNewValue()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        using var events = nvml.CreateEventSet(nvml.GetDevices().Value, GpuEventTypes.XidCriticalError).Value;

        scenario.Write(Scenario.TwoGpus("gpu.0.xid=48"));
        var first = events.Wait(Patience).Value;
        scenario.Write(Scenario.TwoGpus("gpu.0.xid=63"));
        var second = events.Wait(Patience).Value;

        Assert.Equal(48ul, first?.Data);
        Assert.Equal(63ul, second?.Data);
        Assert.Equal("GPU-00000000-0000-0000-0000-000000000000", second?.Uuid);
    }

    [Fact]
    public void Wait_NoEvent_ReturnsNullAfterTimeout()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        using var events = nvml.CreateEventSet(nvml.GetDevices().Value, GpuEventTypes.XidCriticalError).Value;

        var result = events.Wait(TimeSpan.FromMilliseconds(30));

        Assert.True(result.IsSuccess);
        Assert.Null(result.Value);
    }

    [Fact]
    public void Wait_XidOnUnregisteredGpu_IsNotDelivered()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var devices = nvml.GetDevices().Value;
        using var events = nvml.CreateEventSet([devices[0]], GpuEventTypes.XidCriticalError).Value;

        scenario.Write(Scenario.TwoGpus("gpu.1.xid=79"));

        Assert.Null(events.Wait(TimeSpan.FromMilliseconds(30)).Value);
    }

    [Fact]
    public void Wait_RegisteredGpuLost_ReturnsGpuIsLost()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        using var events = nvml.CreateEventSet(nvml.GetDevices().Value, GpuEventTypes.XidCriticalError).Value;

        scenario.Write(Scenario.TwoGpus("gpu.1.state=lost"));
        var result = events.Wait(Patience);

        Assert.Equal(new NvmlError(NvmlReturn.GpuIsLost, "GPU is lost", "nvmlEventSetWait_v2"), result.Error);
    }

    [Fact]
    public void CreateEventSet_UnsupportedTypes_RegistersSupportedSubsetPerDevice()
    {
        using var scenario = new Scenario(Scenario.TwoGpus("gpu.1.supported_events=0x2"));
        using var nvml = fixture.Create(scenario);
        var devices = nvml.GetDevices().Value;

        using var xidOnly = nvml.CreateEventSet(devices, GpuEventTypes.XidCriticalError | GpuEventTypes.GpuUnavailableError).Value;
        using var both = nvml.CreateEventSet(devices, GpuEventTypes.XidCriticalError | GpuEventTypes.DoubleBitEccError).Value;

        Assert.Equal([devices[0].Uuid], ((GpuEventSet)xidOnly).RegisteredUuids);
        Assert.Equal(2, ((GpuEventSet)both).RegisteredUuids.Count);
    }

    [Fact]
    public void CreateEventSet_NotSupportedOrLostDevices_AreLeftOut()
    {
        using var scenario = new Scenario(Scenario.TwoGpus("gpu.count=3\ngpu.1.state=not_supported\ngpu.2.state=no_permission"));
        using var nvml = fixture.Create(scenario);
        var devices = nvml.GetDevices().Value;

        var result = nvml.CreateEventSet(devices, GpuEventTypes.XidCriticalError);

        Assert.True(result.IsSuccess, result.ToString());
        using var events = result.Value;
        Assert.Equal([devices[0].Uuid], ((GpuEventSet)events).RegisteredUuids);
    }

    [Fact]
    public void Wait_AfterDispose_ReturnsInvalidState()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var events = nvml.CreateEventSet(nvml.GetDevices().Value, GpuEventTypes.XidCriticalError).Value;

        events.Dispose();

        Assert.Equal(NvmlReturn.InvalidState, events.Wait(TimeSpan.Zero).Error?.Code);
    }

    [Fact]
    public async Task Dispose_DuringWait_WaitReturnsNormally()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var events = nvml.CreateEventSet(nvml.GetDevices().Value, GpuEventTypes.XidCriticalError).Value;
        var waiting = WaitingThread.Start(events, TimeSpan.FromMilliseconds(300));
        events.Dispose();
        var result = await waiting.WaitAsync(Patience);

        Assert.True(result.IsSuccess || result.Error.Code == NvmlReturn.InvalidState, result.ToString());
    }

    [Fact]
    public void Wait_NegativeTimeout_ReturnsInvalidArgument()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        using var events = nvml.CreateEventSet(nvml.GetDevices().Value, GpuEventTypes.XidCriticalError).Value;

        Assert.Equal(NvmlReturn.InvalidArgument, events.Wait(TimeSpan.FromSeconds(-2)).Error?.Code);
    }

    [Fact]
    public void Dispose_BindingWithOpenEventSet_DisposesTheSet()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        var nvml = fixture.Create(scenario);
        var events = nvml.CreateEventSet(nvml.GetDevices().Value, GpuEventTypes.XidCriticalError).Value;

        nvml.Dispose();

        Assert.False(events.Wait(TimeSpan.Zero).IsSuccess);
    }
}
