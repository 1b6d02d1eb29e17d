using System.Diagnostics;

namespace Drover.Agent.Tests.Telemetry.Probe;

/// <summary>
/// Builds the stand-in libcuda, the CUDA launch probe and the sample workload once per test run (the Makefile's
/// <c>native</c> target, so <c>dotnet test</c> works on a fresh clone with only gcc and make), and starts the workload
/// under the probe against the stand-in, with its pages in a folder of the test's own.
/// </summary>
public sealed class CudaProbeFixture
{
    public CudaProbeFixture()
    {
        RepositoryRoot = FindRepositoryRoot();
        var native = Path.Combine(RepositoryRoot, "out", "native");
        Make("fake-cuda", native);
        Make("cuda-probe", native);
        Make("cuda-workload", Path.Combine(RepositoryRoot, "out", "samples", "cuda-workload"));
        FakeCuda = Path.Combine(native, "libcuda.so.1");
        Probe = Path.Combine(native, "libdrover-cuda-probe.so");
        Workload = Path.Combine(RepositoryRoot, "out", "samples", "cuda-workload", "cuda-workload");
        foreach (var file in new[] { FakeCuda, Probe, Workload })
        {
            Assert.True(File.Exists(file), $"make did not produce '{file}'.");
        }
    }

    public string RepositoryRoot { get; }

    public string FakeCuda { get; }

    public string Probe { get; }

    public string Workload { get; }

    /// <summary>
    /// Starts the workload on the stand-in with <paramref name="args"/>; under the probe, publishing into
    /// <paramref name="pageDirectory"/>, unless <paramref name="probed"/> is false.
    /// </summary>
    public WorkloadProcess Start(string pageDirectory, IEnumerable<string> args, bool probed = true, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(Workload)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--lib");
        start.ArgumentList.Add(FakeCuda);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // The stand-in's devices are its defaults, whatever the test runner's environment says.
        start.Environment.Remove("CUDA_VISIBLE_DEVICES");
        start.Environment.Remove("DROVER_FAKE_NVML_SCENARIO");
        start.Environment["FAKE_CUDA_DEVICES"] = "1";
        if (probed)
        {
            start.Environment["LD_PRELOAD"] = Probe;
            start.Environment["DROVER_GPU_PROBE_DIR"] = pageDirectory;
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        return new WorkloadProcess(Process.Start(start) ?? throw new InvalidOperationException("The workload did not start."));
    }

    private void Make(string project, string output)
    {
        var start = new ProcessStartInfo("make") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-s", "-C", Path.Combine(RepositoryRoot, "native", project), $"OUT={output}" })
        {
            start.ArgumentList.Add(arg);
        }

        using var make = Process.Start(start) ?? throw new InvalidOperationException("Could not start make.");
        var stderr = make.StandardError.ReadToEndAsync();
        make.StandardOutput.ReadToEnd();
        if (!make.WaitForExit(TimeSpan.FromMinutes(2)) || make.ExitCode != 0)
        {
            throw new InvalidOperationException($"make -C native/{project} failed: {stderr.Result}");
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Agent.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No folder holding Agent.sln above '{AppContext.BaseDirectory}'.");
    }
}

/// <summary>The running workload: its output lines as they come, and its end.</summary>
public sealed class WorkloadProcess : IDisposable
{
    private readonly List<string> _lines = [];
    private readonly Lock _lock = new();

    public WorkloadProcess(Process process)
    {
        Process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_lock)
                {
                    _lines.Add(e.Data);
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_lock)
                {
                    _lines.Add("stderr: " + e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Process Process { get; }

    public string Output
    {
        get
        {
            lock (_lock)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    /// <summary>Waits (at most <paramref name="timeout"/>) for a line starting with <paramref name="prefix"/>; returns it.</summary>
    public async Task<string> WaitForLineAsync(string prefix, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            lock (_lock)
            {
                if (_lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) is { } line)
                {
                    return line;
                }
            }

            if (Process.HasExited)
            {
                break;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"The workload printed no '{prefix}' line within {timeout.TotalSeconds} s (exited: {Process.HasExited}). Output:\n{Output}");
    }

    public void Dispose()
    {
        try
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        Process.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class CudaProbeCollection : ICollectionFixture<CudaProbeFixture>
{
    public const string Name = "CUDA launch probe";
}
