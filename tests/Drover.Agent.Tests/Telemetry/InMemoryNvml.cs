using Drover.Nvml;

namespace Drover.Agent.Tests.Telemetry;

/// <summary>An INvml held in memory: tests set what each GPU answers, call by call.</summary>
internal sealed class InMemoryNvml : INvml
{
    public NvmlError? InitError { get; set; }

    public List<InMemoryGpu> Gpus { get; } = [];

    public int Rescans { get; private set; }

    public NvmlResult<string> Initialize()
        => InitError is null ? NvmlResult<string>.Ok("550.54.15") : NvmlResult<string>.Fail(InitError);

    public NvmlResult<IReadOnlyList<IGpuDevice>> GetDevices()
        => NvmlResult<IReadOnlyList<IGpuDevice>>.Ok(Gpus.Where(g => !g.Missing).ToArray());

    public NvmlResult<IReadOnlyList<IGpuDevice>> Rescan()
    {
        Rescans++;
        return GetDevices();
    }

    public int Shutdowns { get; private set; }

    public void Shutdown(TimeSpan waitBound) => Shutdowns++;

    public NvmlResult<IGpuEventSet> CreateEventSet(IEnumerable<IGpuDevice> devices, GpuEventTypes types)
        => NvmlResult<IGpuEventSet>.Fail(new NvmlError(NvmlReturn.NotSupported, "Not Supported", "nvmlEventSetCreate"));

    public void Dispose()
    {
    }
}

internal sealed class InMemoryGpu(int index) : IGpuDevice
{
    public int Index { get; } = index;

    public string Uuid { get; init; } = $"GPU-{index:D4}";

    /// <summary>Set for a MIG instance: its utilization then answers not supported, as NVML's does.</summary>
    public GpuMigInstance? Mig { get; init; }

    public string Name => "Test GPU";

    public string PciBusId => $"00000000:{0x17 + Index:X2}:00.0";

    /// <summary>Every call answers this error (GpuIsLost, NotSupported...) when set.</summary>
    public NvmlReturn? Failing { get; set; }

    /// <summary>Left out of enumeration, as NVML leaves out a GPU whose handle it cannot get.</summary>
    public bool Missing { get; set; }

    public NvmlReturn? PowerFailing { get; set; }

    public GpuMemory Memory { get; set; } = new(80UL << 30, 1UL << 30, 79UL << 30, 0);

    public GpuUtilization Utilization { get; set; } = new(50, 20);

    public List<GpuProcess> Processes { get; } = [];

    public int ProcessCalls { get; private set; }

    public NvmlResult<GpuMemory> GetMemory() => Answer(Memory, "nvmlDeviceGetMemoryInfo_v2");

    public NvmlResult<GpuUtilization> GetUtilization() => Mig is null
        ? Answer(Utilization, "nvmlDeviceGetUtilizationRates")
        : NvmlResult<GpuUtilization>.Fail(new NvmlError(NvmlReturn.NotSupported, "Not Supported", "nvmlDeviceGetUtilizationRates"));

    public NvmlResult<uint> GetTemperatureC() => Answer(45u, "nvmlDeviceGetTemperature");

    public NvmlResult<uint> GetPowerMilliwatts()
        => PowerFailing is { } code ? Fail<uint>(code, "nvmlDeviceGetPowerUsage") : Answer(150_000u, "nvmlDeviceGetPowerUsage");

    public NvmlResult<bool> GetMigEnabled() => Answer(false, "nvmlDeviceGetMigMode");

    public NvmlResult<IReadOnlyList<GpuProcess>> GetComputeProcesses()
    {
        ProcessCalls++;
        return Answer<IReadOnlyList<GpuProcess>>(Processes.ToArray(), "nvmlDeviceGetComputeRunningProcesses_v3");
    }

    public GpuClockEventReasons ClockEventReasons { get; set; }

    public GpuRemappedRows RemappedRows { get; set; }

    /// <summary>The operators' fields this GPU does not support (NOT_SUPPORTED), by call name.</summary>
    public HashSet<string> Unsupported { get; } = [];

    public NvmlResult<uint> GetClockMhz(GpuClock clock) => Answer(clock == GpuClock.Sm ? 1980u : 2619u, "nvmlDeviceGetClockInfo");

    public NvmlResult<GpuClockEventReasons> GetClockEventReasons() => Answer(ClockEventReasons, "nvmlDeviceGetCurrentClocksEventReasons");

    public NvmlResult<ulong> GetTotalEnergyMillijoules() => Answer(123_456UL, "nvmlDeviceGetTotalEnergyConsumption");

    public NvmlResult<uint> GetPcieThroughputKilobytesPerSecond(PcieDirection direction) => Answer(direction == PcieDirection.Transmit ? 1000u : 2000u, "nvmlDeviceGetPcieThroughput");

    public NvmlResult<uint> GetPcieReplayCount() => Answer(3u, "nvmlDeviceGetPcieReplayCounter");

    public NvmlResult<uint> GetEncoderUtilizationPercent() => Answer(5u, "nvmlDeviceGetEncoderUtilization");

    public NvmlResult<uint> GetDecoderUtilizationPercent() => Answer(6u, "nvmlDeviceGetDecoderUtilization");

    public NvmlResult<ulong> GetEccErrors(EccErrorKind kind) => Answer(kind == EccErrorKind.Corrected ? 7UL : 0UL, "nvmlDeviceGetTotalEccErrors");

    public NvmlResult<GpuRemappedRows> GetRemappedRows() => Answer(RemappedRows, "nvmlDeviceGetRemappedRows");

    public NvmlResult<uint> GetMemoryTemperatureC() => Answer(52u, "nvmlDeviceGetFieldValues");

    /// <summary>What GPM measures; null: GPM not supported (a GPU before Hopper, or a driver before R520).</summary>
    public GpuActivity? Activity { get; set; } = new(50, 30, 20);

    public NvmlResult<GpuActivity?> GetActivity() => Activity is null
        ? Fail<GpuActivity?>(NvmlReturn.NotSupported, "nvmlGpmQueryDeviceSupport")
        : Answer<GpuActivity?>(Activity, "nvmlGpmMetricsGet");

    private NvmlResult<T> Answer<T>(T value, string call)
        => Failing is { } code ? Fail<T>(code, call) : Unsupported.Contains(call) ? Fail<T>(NvmlReturn.NotSupported, call) : NvmlResult<T>.Ok(value);

    private static NvmlResult<T> Fail<T>(NvmlReturn code, string call)
        => NvmlResult<T>.Fail(new NvmlError(code, code.ToString(), call));
}
