using System.Globalization;
using System.Text;

namespace Drover.Benchmarks;

/// <summary>
/// The stand-in <c>libnvidia-ml.so.1</c> built from <c>native/fake-nvml</c> (<c>make native</c>), and the scenario
/// files that give it its GPUs.
/// </summary>
internal static class StandInNvml
{
    public const string ScenarioVariable = "DROVER_FAKE_NVML_SCENARIO";

    private const string RelativeLibraryPath = "out/native/libnvidia-ml.so.1";

    /// <summary>
    /// The library's absolute path, found by walking up from this assembly: BenchmarkDotNet runs each benchmark in a
    /// child process built under this project's bin folder, so the working directory says nothing useful.
    /// </summary>
    public static string FindLibrary()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, RelativeLibraryPath);
            if (File.Exists(candidate) && Directory.Exists(Path.Combine(dir.FullName, "native", "fake-nvml")))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException(
            $"The stand-in NVML '{RelativeLibraryPath}' was not found above '{AppContext.BaseDirectory}'. Build it with 'make native' at the repository root.");
    }

    /// <summary>
    /// Writes a scenario of <paramref name="gpuCount"/> H100s, each with <paramref name="processesPerGpu"/> compute
    /// processes and some memory and utilization in use, and returns its path. Written to a temporary file and
    /// renamed, as the stand-in asks.
    /// </summary>
    public static string WriteScenario(int gpuCount, int processesPerGpu)
    {
        var text = new StringBuilder();
        text.AppendLine("# Drover.Benchmarks: stand-in GPUs for one sample.");
        text.AppendLine("driver_version=550.54.15");
        text.AppendLine("init=ok");
        text.AppendLine(CultureInfo.InvariantCulture, $"gpu.count={gpuCount}");
        for (var g = 0; g < gpuCount; g++)
        {
            var processes = string.Join(',', Enumerable.Range(0, processesPerGpu).Select(p => $"{10_000 + (g * 100) + p}:{(p + 1) * 2_147_483_648L}"));
            text.AppendLine(CultureInfo.InvariantCulture, $"gpu.{g}.name=NVIDIA H100 80GB HBM3");
            text.AppendLine(CultureInfo.InvariantCulture, $"gpu.{g}.uuid=GPU-be0c0000-0000-4000-8000-{g:x12}");
            text.AppendLine(CultureInfo.InvariantCulture, $"gpu.{g}.pci_bus_id=00000000:{0x17 + g:X2}:00.0");
            text.AppendLine(CultureInfo.InvariantCulture, $"gpu.{g}.memory_total=85899345920");
            text.AppendLine(CultureInfo.InvariantCulture, $"gpu.{g}.memory_used={(g + 1) * 4_294_967_296L}");
            text.AppendLine(CultureInfo.InvariantCulture, $"gpu.{g}.util_gpu={(g * 13) % 100}");
            text.AppendLine(CultureInfo.InvariantCulture, $"gpu.{g}.util_memory={(g * 7) % 100}");
            text.AppendLine(CultureInfo.InvariantCulture, $"gpu.{g}.temperature={40 + g}");
            text.AppendLine(CultureInfo.InvariantCulture, $"gpu.{g}.power_mw={250_000 + (g * 1000)}");
            text.AppendLine(CultureInfo.InvariantCulture, $"gpu.{g}.memory_temp={45 + g}");
            text.AppendLine(CultureInfo.InvariantCulture, $"gpu.{g}.gpm=1"); // Hopper: GPM read every sample
            text.AppendLine(CultureInfo.InvariantCulture, $"gpu.{g}.gpm_graphics={(g * 13) % 100}");
            text.AppendLine(CultureInfo.InvariantCulture, $"gpu.{g}.gpm_sm={(g * 11) % 100}");
            text.AppendLine(CultureInfo.InvariantCulture, $"gpu.{g}.mig=0");
            text.AppendLine(CultureInfo.InvariantCulture, $"gpu.{g}.processes={processes}");
        }

        var path = Path.Combine(Path.GetTempPath(), $"drover-bench-{Environment.ProcessId}-{Guid.NewGuid():N}.scenario");
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, text.ToString());
        File.Move(temporary, path, overwrite: true);
        return path;
    }
}
