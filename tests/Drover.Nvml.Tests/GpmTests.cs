using Drover.Nvml.Interop;
using Drover.Nvml.Tests.Fakes;

namespace Drover.Nvml.Tests;

/// <summary>GPM activity and the memory temperature through the real binding on the stand-in.</summary>
[Collection(FakeNvmlCollection.Name)]
public sealed class GpmTests(FakeNvmlFixture fixture)
{
    private static string Gpm(string extra = "") => Scenario.TwoGpus($"""
        gpu.0.gpm=1
        gpu.0.gpm_graphics=60
        gpu.0.gpm_sm=45
        gpu.0.gpm_occupancy=30
        gpu.0.memory_temp=61
        {extra}
        """);

    [Fact]
    public void GetActivity_GpuWithGpm_NullOnTheFirstSampleThenMeasured()
    {
        using var scenario = new Scenario(Gpm());
        using var nvml = fixture.Create(scenario);
        var gpu = nvml.GetDevices().Value[0];

        var first = gpu.GetActivity();
        var second = gpu.GetActivity();
        scenario.Write(Gpm("gpu.0.gpm_graphics=80"));
        var third = gpu.GetActivity();

        Assert.True(first.IsSuccess);
        Assert.Null(first.Value); // nothing to measure against yet
        Assert.Equal(new GpuActivity(60, 45, 30), second.Value);
        Assert.Equal(new GpuActivity(80, 45, 30), third.Value);
    }

    [Fact]
    public void GetActivity_GpuWithoutGpm_OrLibraryWithout_IsNotSupported()
    {
        using var scenario = new Scenario(Gpm());
        using var nvml = fixture.Create(scenario);
        Assert.Equal(NvmlReturn.NotSupported, nvml.GetDevices().Value[1].GetActivity().Error!.Code);

        // A driver before R520 lacks the GPM entry points: found again after the next initialization.
        scenario.Write(Gpm("export.nvmlGpmMetricsGet=0"));
        nvml.Shutdown(TimeSpan.FromSeconds(1));
        var gpu = nvml.GetDevices().Value[0];

        Assert.False(NvmlGpm.Available);
        Assert.Equal(NvmlReturn.NotSupported, gpu.GetActivity().Error!.Code);
    }

    [Fact]
    public void GetActivity_MigInstance_MeasuredThroughItsGpuByInstanceId()
    {
        using var scenario = new Scenario(Gpm("""
            gpu.0.mig=1
            gpu.0.mig.count=2
            gpu.0.mig.0.gi=3
            gpu.0.mig.0.gpm_graphics=20
            gpu.0.mig.1.gi=5
            gpu.0.mig.1.gpm_graphics=90
            gpu.0.mig.1.gpm_sm=70
            """));
        using var nvml = fixture.Create(scenario);
        var instances = nvml.GetDevices().Value.Where(d => d.Mig is not null).ToArray();

        var first = instances.Select(i => i.GetActivity()).ToArray();
        var second = instances.Select(i => i.GetActivity().Value).ToArray();

        Assert.All(first, f => Assert.True(f.IsSuccess && f.Value is null));
        Assert.Equal(new GpuActivity(20, 0, 0), second[0]);
        Assert.Equal(new GpuActivity(90, 70, 0), second[1]);
    }

    [Fact]
    public void GetActivity_AfterNvmlInitialisedAgain_StartsFromAFirstSample()
    {
        using var scenario = new Scenario(Gpm());
        using var nvml = fixture.Create(scenario);
        var gpu = nvml.GetDevices().Value[0];
        _ = gpu.GetActivity();
        Assert.NotNull(gpu.GetActivity().Value);

        nvml.Shutdown(TimeSpan.FromSeconds(1)); // frees the samples, which belong to that initialization
        _ = nvml.GetDevices();

        Assert.Null(gpu.GetActivity().Value);
        Assert.NotNull(gpu.GetActivity().Value);
    }

    [Fact]
    public void GetMemoryTemperatureC_FieldValue_ReadOrNotSupported()
    {
        using var scenario = new Scenario(Gpm("gpu.1.unsupported=memory_temp"));
        using var nvml = fixture.Create(scenario);
        var devices = nvml.GetDevices().Value;

        Assert.Equal(61u, devices[0].GetMemoryTemperatureC().Value);
        Assert.Equal(NvmlReturn.NotSupported, devices[1].GetMemoryTemperatureC().Error!.Code);
    }
}
