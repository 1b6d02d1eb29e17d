namespace Drover.Agent.Tests;

/// <summary>
/// The NVML library path a test agent host is given: a file that does not exist. The stand-in is loaded in this
/// process by the GPU tests, and dlopen of the soname would hand a host that same library, with whatever scenario
/// those tests set: a host test would then hold NVML initialised (and sample hung or reloaded GPUs) under them.
/// </summary>
internal static class NoNvml
{
    public static readonly string LibraryPath = Path.Combine(Path.GetTempPath(), "drover-tests-no-nvml", "libnvidia-ml.so.1");
}
