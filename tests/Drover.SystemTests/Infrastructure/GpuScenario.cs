using System.Globalization;
using System.Text;

namespace Drover.SystemTests.Infrastructure;

/// <summary>
/// A stand-in NVML scenario file (see native/fake-nvml/fake_nvml.c for its keys). Saved atomically
/// (temporary file, then rename), since the library re-reads it while the agent runs.
/// </summary>
internal sealed class GpuScenario
{
    private readonly SortedDictionary<string, string> _values = new(StringComparer.Ordinal);

    public GpuScenario(int gpus)
    {
        Set("driver_version", "550.54.15");
        Set("init", "ok");
        Set("gpu.count", gpus);
        for (var i = 0; i < gpus; i++)
        {
            Set($"gpu.{i}.uuid", $"GPU-{i:D8}-0000-4000-8000-{Guid.NewGuid().ToString("N")[..12]}");
            Set($"gpu.{i}.memory_total", 80L << 30);
            Set($"gpu.{i}.memory_used", (i + 1L) << 30);
            Set($"gpu.{i}.util_gpu", 10 * (i + 1));
            Set($"gpu.{i}.state", "ok");
        }
    }

    public string? Path { get; private set; }

    public string Uuid(int gpu) => _values[$"gpu.{gpu}.uuid"];

    public GpuScenario Set(string key, object value)
    {
        _values[key] = Convert.ToString(value, CultureInfo.InvariantCulture)!;
        return this;
    }

    /// <summary>Writes the scenario to <paramref name="path"/> (or where it was last saved).</summary>
    public void Save(string? path = null)
    {
        Path = path ?? Path ?? throw new InvalidOperationException("The scenario has not been saved anywhere yet.");
        var text = new StringBuilder("# written by Drover.SystemTests\n");
        foreach (var (key, value) in _values)
        {
            text.Append(key).Append('=').Append(value).Append('\n');
        }

        var temporary = Path + ".tmp";
        File.WriteAllText(temporary, text.ToString());
        File.Move(temporary, Path, overwrite: true);
    }
}
