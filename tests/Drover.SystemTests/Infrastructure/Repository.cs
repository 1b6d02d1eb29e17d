namespace Drover.SystemTests.Infrastructure;

/// <summary>
/// Finds the repository and the programs `make build` left in ./out (or $DROVER_OUT); $DROVER_AGENT, when set,
/// is the agent to run instead (make test runs some suites again with the NativeAOT agent).
/// </summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string Out { get; } = Environment.GetEnvironmentVariable("DROVER_OUT") is { Length: > 0 } o ? o : Path.Combine(Root, "out");

    public static string Aggregator => Program("drover-aggregator");

    public static string Agent => Environment.GetEnvironmentVariable("DROVER_AGENT") is { Length: > 0 } agent ? agent : Program("drover-agent");

    public static string Counter => Program(Path.Combine("samples", "counter", "counter"));

    public static string FakeNvml => Path.Combine(Out, "native", "libnvidia-ml.so.1");

    /// <summary>The stand-in CUDA driver, the CUDA launch probe and the sample CUDA workload (make native).</summary>
    public static string FakeCuda => Path.Combine(Out, "native", "libcuda.so.1");

    public static string CudaProbe => Path.Combine(Out, "native", "libdrover-cuda-probe.so");

    public static string CudaWorkload => Program(Path.Combine("samples", "cuda-workload", "cuda-workload"));

    private static string Program(string name)
    {
        var path = Path.Combine(Out, name);
        return File.Exists(path)
            ? path
            : throw new InvalidOperationException($"'{path}' does not exist: the system tests run the built programs; run 'make build' (or 'make test') first.");
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Agent.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Agent.sln above '{AppContext.BaseDirectory}'.");
    }
}
