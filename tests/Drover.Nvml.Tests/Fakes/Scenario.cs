namespace Drover.Nvml.Tests.Fakes;

/// <summary>
/// A scenario file for the stand-in NVML in its own temporary folder. <see cref="Write"/> replaces it atomically
/// (write, then rename), so the library never reads a half-written file.
/// </summary>
public sealed class Scenario : IDisposable
{
    private readonly DirectoryInfo _directory;

    public Scenario(string content)
    {
        _directory = Directory.CreateTempSubdirectory("drover-fake-nvml-");
        Path = System.IO.Path.Combine(_directory.FullName, "scenario.txt");
        Write(content);
    }

    public string Path { get; }

    /// <summary>Two H100s with distinct values on every key.</summary>
    public static string TwoGpus(string extra = "") => $"""
        driver_version=550.54.15
        init=ok
        gpu.count=2
        gpu.0.name=NVIDIA H100 80GB HBM3
        gpu.0.uuid=GPU-00000000-0000-0000-0000-000000000000
        gpu.0.pci_bus_id=00000000:17:00.0
        gpu.0.memory_total=85899345920
        gpu.0.memory_used=1073741824        # free = total - used - reserved
        gpu.0.memory_reserved=536870912
        gpu.0.util_gpu=35
        gpu.0.util_memory=20
        gpu.0.temperature=45
        gpu.0.power_mw=120000
        gpu.0.mig=0
        gpu.0.processes=1234:1073741824,5678:2147483648
        gpu.0.state=ok
        gpu.0.xid=0
        gpu.0.command_queue=3
        gpu.1.name=NVIDIA H100 PCIe
        gpu.1.uuid=GPU-11111111-1111-1111-1111-111111111111
        gpu.1.pci_bus_id=00000000:2A:00.0
        gpu.1.memory_total=85520809984
        gpu.1.memory_used=2147483648
        gpu.1.util_gpu=90
        gpu.1.util_memory=60
        gpu.1.temperature=71
        gpu.1.power_mw=300500
        gpu.1.processes=
        {extra}
        """;

    public void Write(string content)
    {
        var temporary = Path + ".tmp";
        File.WriteAllText(temporary, content);
        File.Move(temporary, Path, overwrite: true);
    }

    public void Dispose() => _directory.Delete(recursive: true);
}
