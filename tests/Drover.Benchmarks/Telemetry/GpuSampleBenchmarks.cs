using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Drover.Agent.Configuration;
using Drover.Agent.Telemetry;
using Drover.Nvml;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Benchmarks.Telemetry;

/// <summary>
/// One full sample of 8 stand-in GPUs, the agent's work every telemetry interval. <see cref="NvmlReadsOnly"/> is
/// NVML's own cost (the interface reads the agent makes, nothing else); the agent's cost beyond NVML is
/// <see cref="FullSample"/> minus it. The <c>ListingProcesses</c> pair adds the compute-process listing that the
/// agent does once per <c>processSampleIntervalMs</c> (every 10th sample by default).
/// </summary>
/// <remarks>
/// A short job (1 launch, 5 warm-up and 15 measured iterations) so the suite fits a 2-core machine; the stand-in's
/// reads are cheap, so these numbers are the agent's overhead over a fast driver, not a real driver's latency.
/// </remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 5, iterationCount: 15)]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class GpuSampleBenchmarks
{
    private const int GpuCount = 8;
    private const int ProcessesPerGpu = 2;
    private const string Steady = "Steady";
    private const string ListingProcesses = "ListingProcesses";

    private string _scenario = "";
    private INvml _nvml = null!;
    private IReadOnlyList<IGpuDevice> _devices = [];
    private GpuTelemetry _telemetry = null!;
    private GpuTelemetry _telemetryListingProcesses = null!;

    [GlobalSetup]
    public void Setup()
    {
        _scenario = StandInNvml.WriteScenario(GpuCount, ProcessesPerGpu);
        NativeEnvironment.Set(StandInNvml.ScenarioVariable, _scenario);
        _nvml = NvmlFactory.Create(new NvmlOptions { LibraryPath = StandInNvml.FindLibrary() });

        var time = TimeProvider.System;
        _telemetry = new GpuTelemetry(_nvml, new GpuHealthBoard(time, TimeSpan.FromMinutes(5)), new ReportedGpuWork(),
            new AgentOptions { ServerNumber = 1 }, time, NullLogger<GpuTelemetry>.Instance);
        _telemetryListingProcesses = new GpuTelemetry(_nvml, new GpuHealthBoard(time, TimeSpan.FromMinutes(5)), new ReportedGpuWork(),
            new AgentOptions { ServerNumber = 1, ProcessSampleIntervalMs = 0 }, time, NullLogger<GpuTelemetry>.Instance);

        var status = _telemetry.Status;
        if (!status.Available)
        {
            throw new InvalidOperationException($"The stand-in NVML is not available: {status.Reason}.");
        }

        _devices = _nvml.GetDevices().Value;
        if (_devices.Count != GpuCount)
        {
            throw new InvalidOperationException($"The stand-in NVML shows {_devices.Count} GPUs, not {GpuCount}: is '{_scenario}' read?");
        }

        // The first sample lists processes; later ones in this job are the steady 9-in-10 that do not.
        _ = _telemetry.Sample();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _nvml.Dispose();
        File.Delete(_scenario);
    }

    /// <summary>The NVML reads of one sample through <see cref="IGpuDevice"/>: NVML's own cost.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory(Steady)]
    public ulong NvmlReadsOnly()
    {
        // An indexed loop: foreach over the interface would box an enumerator and charge it to NVML.
        ulong sum = 0;
        for (var i = 0; i < _devices.Count; i++)
        {
            var device = _devices[i];
            sum += device.GetMemory().Value.UsedBytes ?? 0;
            sum += device.GetUtilization().Value.GpuPercent;
            sum += device.GetTemperatureC().Value;
            sum += device.GetPowerMilliwatts().Value;
            sum += device.GetMigEnabled().Value ? 1UL : 0UL;
            sum += device.GetClockMhz(GpuClock.Sm).Value;
            sum += device.GetClockMhz(GpuClock.Memory).Value;
            sum += (ulong)device.GetClockEventReasons().Value;
            sum += device.GetTotalEnergyMillijoules().Value;
            sum += device.GetEncoderUtilizationPercent().Value;
            sum += device.GetDecoderUtilizationPercent().Value;
            sum += device.GetMemoryTemperatureC().Value;
            sum += (ulong)(device.GetActivity().Value?.GraphicsPercent ?? 0);
        }

        return sum;
    }

    /// <summary>One <see cref="GpuTelemetry.Sample"/> of every GPU, processes not due.</summary>
    [Benchmark]
    [BenchmarkCategory(Steady)]
    public Protocol.V1.Telemetry FullSample() => _telemetry.Sample();

    /// <summary>The NVML reads of one sample that also lists each GPU's compute processes.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory(ListingProcesses)]
    public ulong NvmlReadsListingProcesses()
    {
        var sum = NvmlReadsOnly();
        for (var i = 0; i < _devices.Count; i++)
        {
            var device = _devices[i];
            sum += (ulong)device.GetComputeProcesses().Value.Count;
            sum += device.GetPcieThroughputKilobytesPerSecond(PcieDirection.Transmit).Value;
            sum += device.GetPcieThroughputKilobytesPerSecond(PcieDirection.Receive).Value;
            sum += device.GetPcieReplayCount().Value;
            sum += device.GetEccErrors(EccErrorKind.Corrected).Value;
            sum += device.GetEccErrors(EccErrorKind.Uncorrected).Value;
            sum += device.GetRemappedRows().Value.Corrected;
        }

        return sum;
    }

    /// <summary>One <see cref="GpuTelemetry.Sample"/> of every GPU with the process listing due.</summary>
    [Benchmark]
    [BenchmarkCategory(ListingProcesses)]
    public Protocol.V1.Telemetry FullSampleListingProcesses() => _telemetryListingProcesses.Sample();
}
