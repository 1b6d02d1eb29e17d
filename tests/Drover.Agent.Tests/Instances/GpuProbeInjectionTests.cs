using Drover.Agent.Instances;
using Drover.Protocol.V1;

namespace Drover.Agent.Tests.Instances;

/// <summary>Which processes get the CUDA launch probe, and what their environment and folder look like.</summary>
public sealed class GpuProbeInjectionTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("drover-injection-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Library(bool installed)
    {
        var path = Path.Combine(_root, "libdrover-cuda-probe.so");
        if (installed)
        {
            File.WriteAllBytes(path, []);
        }

        return path;
    }

    private InstanceEnvironment Environment(bool installed)
        => new(7000, "token", "node-1", "/run/drover/agent.sock", new GpuProbeInjection(Library(installed), Path.Combine(_root, "pages")));

    private static InstanceSpec Spec(bool gpuProbe, string? preload = null)
    {
        var spec = new InstanceSpec { InstanceId = "i1", Function = "f", Process = new ProcessRuntime { Command = "/bin/true" }, GpuProbe = gpuProbe };
        if (preload is not null)
        {
            spec.Process.Env["LD_PRELOAD"] = preload;
        }

        return spec;
    }

    private InstanceDirectory Directory1 => new(Path.Combine(_root, "instances"), "i1");

    [Fact]
    public void For_GpuProbe_PreloadsTheProbeAndNamesTheInstancesFolder()
    {
        var environment = Environment(installed: true).For(Spec(gpuProbe: true), Directory1);

        Assert.Equal(Library(true), environment["LD_PRELOAD"]);
        Assert.Equal(Path.Combine(_root, "pages", "i1"), environment[GpuProbeInjection.DirectoryVariable]);
        Assert.True(Directory.Exists(Path.Combine(_root, "pages", "i1")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(_root, "pages", "i1")));
    }

    [Fact]
    public void For_GpuProbeAndAPreloadOfItsOwn_TheProbeFirst()
    {
        var environment = Environment(installed: true).For(Spec(gpuProbe: true, preload: "/opt/lib/libjemalloc.so"), Directory1);

        Assert.Equal($"{Library(true)}:/opt/lib/libjemalloc.so", environment["LD_PRELOAD"]);
    }

    [Fact]
    public void For_NoGpuProbe_NothingOfTheProbe()
    {
        var environment = Environment(installed: true).For(Spec(gpuProbe: false), Directory1);

        Assert.False(environment.ContainsKey(GpuProbeInjection.DirectoryVariable));
        Assert.False(environment.TryGetValue("LD_PRELOAD", out var preload) && preload.Contains("probe", StringComparison.Ordinal));
    }

    [Fact]
    public void For_ProbeNotInstalled_RunsWithoutIt()
    {
        var environment = Environment(installed: false);

        Assert.False(environment.Probed(Spec(gpuProbe: true)));
        Assert.False(environment.For(Spec(gpuProbe: true), Directory1).ContainsKey(GpuProbeInjection.DirectoryVariable));
    }
}
