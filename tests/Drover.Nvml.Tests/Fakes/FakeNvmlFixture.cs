using System.Diagnostics;

namespace Drover.Nvml.Tests.Fakes;

/// <summary>
/// Builds the stand-in NVML library once per test run (<c>make -s -C native/fake-nvml OUT=&lt;root&gt;/out/native</c>),
/// so <c>dotnet test</c> works on a fresh clone with only gcc and make, and creates bindings that load it.
/// </summary>
public sealed class FakeNvmlFixture
{
    public const string ScenarioVariable = "DROVER_FAKE_NVML_SCENARIO";
    public const string ReloadVariable = "DROVER_FAKE_NVML_RELOAD_MS";

    public FakeNvmlFixture()
    {
        RepositoryRoot = FindRepositoryRoot();
        var output = Path.Combine(RepositoryRoot, "out", "native");
        Build(Path.Combine(RepositoryRoot, "native", "fake-nvml"), output);
        LibraryPath = Path.Combine(output, "libnvidia-ml.so.1");
        Assert.True(File.Exists(LibraryPath), $"make did not produce '{LibraryPath}'.");
    }

    public string RepositoryRoot { get; }

    public string LibraryPath { get; }

    /// <summary>
    /// Points the stand-in at <paramref name="scenario"/> (read by nvmlInit_v2, so set it before Initialize) with the
    /// file checked on every call, and creates a binding on the stand-in.
    /// </summary>
    public INvml Create(Scenario scenario)
    {
        Activate(scenario);
        return NvmlFactory.Create(new NvmlOptions { LibraryPath = LibraryPath });
    }

    public static void Activate(Scenario scenario)
    {
        NativeEnvironment.Set(ScenarioVariable, scenario.Path);
        NativeEnvironment.Set(ReloadVariable, "0");
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

    private static void Build(string source, string output)
    {
        var start = new ProcessStartInfo("make")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-s");
        start.ArgumentList.Add("-C");
        start.ArgumentList.Add(source);
        start.ArgumentList.Add($"OUT={output}");

        using var make = Process.Start(start) ?? throw new InvalidOperationException("Could not start make.");
        var stdout = make.StandardOutput.ReadToEndAsync();
        var stderr = make.StandardError.ReadToEndAsync();
        if (!make.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            make.Kill();
            throw new InvalidOperationException("make -C native/fake-nvml did not finish within 2 minutes.");
        }

        if (make.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"make -C native/fake-nvml failed with exit code {make.ExitCode}:\n{stdout.Result}\n{stderr.Result}");
        }
    }
}
