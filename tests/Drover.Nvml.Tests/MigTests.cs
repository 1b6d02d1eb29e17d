using Drover.Nvml.Tests.Fakes;

namespace Drover.Nvml.Tests;

/// <summary>MIG instances through the real binding on the stand-in: enumerated under their GPU, read, and events attributed.</summary>
[Collection(FakeNvmlCollection.Name)]
public sealed class MigTests(FakeNvmlFixture fixture)
{
    private const string Parent = "GPU-00000000-0000-0000-0000-000000000000";
    private const string Small = "MIG-aaaaaaaa-0000-4000-9000-000000000001";
    private const string Large = "MIG-bbbbbbbb-0000-4000-9000-000000000002";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>GPU 0 with MIG on and two instances: a 1g.10gb running one process, a 3g.40gb idle.</summary>
    private static string TwoInstances(string extra = "") => Scenario.TwoGpus($"""
        gpu.0.mig=1
        gpu.0.mig.count=2
        gpu.0.mig.0.uuid={Small}
        gpu.0.mig.0.profile=1g.10gb
        gpu.0.mig.0.gi=7
        gpu.0.mig.0.ci=0
        gpu.0.mig.0.memory_total=10737418240
        gpu.0.mig.0.memory_used=2147483648
        gpu.0.mig.0.processes=4242:2147483648
        gpu.0.mig.1.uuid={Large}
        gpu.0.mig.1.profile=3g.40gb
        gpu.0.mig.1.gi=1
        gpu.0.mig.1.memory_total=42949672960
        {extra}
        """);

    [Fact]
    public void GetDevices_MigEnabledGpu_ListsItsInstancesAfterIt()
    {
        using var scenario = new Scenario(TwoInstances());
        using var nvml = fixture.Create(scenario);
        var devices = nvml.GetDevices().Value;

        Assert.Equal([Parent, Small, Large, "GPU-11111111-1111-1111-1111-111111111111"], devices.Select(d => d.Uuid));
        Assert.Null(devices[0].Mig);
        Assert.Equal(new GpuMigInstance(Parent, "1g.10gb", 7, 0), devices[1].Mig);
        Assert.Equal(new GpuMigInstance(Parent, "3g.40gb", 1, 0), devices[2].Mig);
        Assert.Equal("NVIDIA H100 80GB HBM3 MIG 1g.10gb", devices[1].Name);
        Assert.Equal((0, devices[0].PciBusId), (devices[1].Index, devices[1].PciBusId));
        Assert.Null(devices[3].Mig);
    }

    [Fact]
    public void Reads_MigInstance_OwnMemoryAndProcesses_NoUtilization()
    {
        using var scenario = new Scenario(TwoInstances());
        using var nvml = fixture.Create(scenario);
        var small = nvml.GetDevices().Value[1];

        Assert.Equal(new GpuMemory(10737418240, 2147483648, 10737418240 - 2147483648, 0), small.GetMemory().Value);
        Assert.Equal([new GpuProcess(4242, 2147483648)], small.GetComputeProcesses().Value);
        Assert.Equal(NvmlReturn.NotSupported, small.GetUtilization().Error!.Code);
    }

    [Fact]
    public void Rescan_InstanceDestroyed_IsGoneAndItsOldHandleFails()
    {
        using var scenario = new Scenario(TwoInstances());
        using var nvml = fixture.Create(scenario);
        var large = nvml.GetDevices().Value[2];

        scenario.Write(TwoInstances("gpu.0.mig.count=1"));

        Assert.False(large.GetMemory().IsSuccess);
        Assert.DoesNotContain(nvml.Rescan().Value, d => d.Uuid == Large);
    }

    [Fact]
    public void Rescan_MigTurnedOff_ListsTheWholeGpuAlone()
    {
        using var scenario = new Scenario(TwoInstances());
        using var nvml = fixture.Create(scenario);
        Assert.Equal(4, nvml.GetDevices().Value.Count);

        scenario.Write(TwoInstances("gpu.0.mig=0"));

        Assert.Equal([Parent, "GPU-11111111-1111-1111-1111-111111111111"], nvml.Rescan().Value.Select(d => d.Uuid));
    }

    /// <summary>NVML reports a MIG instance's XID on its GPU, naming the instance's ids: the event is the instance's.</summary>
    [Fact]
    public async Task Wait_XidOnAMigInstance_IsAttributedToThatInstance()
    {
        using var scenario = new Scenario(TwoInstances());
        using var nvml = fixture.Create(scenario);
        var devices = nvml.GetDevices().Value;
        using var events = nvml.CreateEventSet(devices.Where(d => d.Mig is null), GpuEventTypes.XidCriticalError).Value;
        var waiting = WaitingThread.Start(events, Patience);

        scenario.Write(TwoInstances("gpu.0.mig.0.xid=94"));
        var instance = (await waiting.WaitAsync(Patience * 2)).Value;
        scenario.Write(TwoInstances("gpu.0.mig.0.xid=94\ngpu.0.xid=79"));
        var gpu = events.Wait(Patience).Value;

        Assert.Equal(new GpuEvent(Small, GpuEventTypes.XidCriticalError, 94), instance);
        Assert.Equal(new GpuEvent(Parent, GpuEventTypes.XidCriticalError, 79), gpu);
    }

    [Theory]
    [InlineData("NVIDIA H100 80GB HBM3 MIG 1g.10gb", "1g.10gb")]
    [InlineData("NVIDIA A100-SXM4-40GB MIG 3g.20gb", "3g.20gb")]
    [InlineData("NVIDIA H100 80GB HBM3 MIG 1g.10gb+me", "1g.10gb+me")]
    [InlineData("NVIDIA H100 80GB HBM3", "")]
    [InlineData("NVIDIA H100 MIG ", "")]
    [InlineData("NVIDIA H100 MIG two words", "")]
    [InlineData("NVIDIA H100 MIG 1g.10gb\u00e9", "")] // not ASCII: the aggregator would refuse the whole sample
    public void ProfileOf_Name_IsTheWordAfterMig(string name, string expected)
        => Assert.Equal(expected, GpuMigInstance.ProfileOf(name));
}
