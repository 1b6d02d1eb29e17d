using Drover.Agent.Configuration;
using Drover.Nvml;
using Drover.Protocol.V1;
using Google.Protobuf.WellKnownTypes;

namespace Drover.Agent.Telemetry;

/// <summary>
/// The node's GPUs through NVML: whether telemetry is available and why not, the inventory (every GPU
/// ever seen, keyed by UUID, so a GPU that drops out is still reported as lost), and one sample of
/// every GPU on demand. Sampling runs on the telemetry loop; the XID loop writes the health board.
/// </summary>
internal sealed partial class GpuTelemetry
{
    private readonly INvml _nvml;
    private readonly GpuHealthBoard _health;
    private readonly ReportedGpuWork _reported;
    private readonly TimeProvider _time;
    private readonly ILogger<GpuTelemetry> _logger;
    private readonly TimeSpan _processInterval;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, KnownGpu> _known = new(StringComparer.Ordinal);
    private IReadOnlyList<IGpuDevice> _devices = [];
    private GpuTelemetryStatus _status = new() { Available = false, Reason = "not initialized yet" };
    private string? _loggedUnavailable;
    private long _processesSampledAt = long.MinValue;
    private int _generation;

    public GpuTelemetry(INvml nvml, GpuHealthBoard health, ReportedGpuWork reported, AgentOptions options, TimeProvider time, ILogger<GpuTelemetry> logger)
    {
        _nvml = nvml;
        _health = health;
        _reported = reported;
        _time = time;
        _logger = logger;
        _processInterval = options.ProcessSampleInterval;
        Probe();
    }

    /// <summary>Increases whenever the devices are enumerated again, so the event loop rebuilds its event set.</summary>
    public int Generation => Volatile.Read(ref _generation);

    public GpuTelemetryStatus Status
    {
        get
        {
            lock (_gate)
            {
                return _status.Clone();
            }
        }
    }

    /// <summary>The devices NVML enumerated at the last probe.</summary>
    public IReadOnlyList<IGpuDevice> Devices
    {
        get
        {
            lock (_gate)
            {
                return _devices;
            }
        }
    }

    /// <summary>Whether a probe could change something: NVML unavailable, or a known GPU lost.</summary>
    public bool NeedsProbe
    {
        get
        {
            lock (_gate)
            {
                return !_status.Available || _known.Values.Any(k => k.Lost);
            }
        }
    }

    /// <summary>Every GPU ever seen, for the Hello.</summary>
    public IReadOnlyList<GpuInfo> Inventory()
    {
        lock (_gate)
        {
            return _known.Values.OrderBy(k => k.Info.Index).Select(k => k.Info.Clone()).ToArray();
        }
    }

    /// <summary>
    /// Initializes NVML if it is not yet, and enumerates the GPUs again: how NVML that was missing and
    /// GPUs that were lost are found back. Logs the first failure of a kind once.
    /// </summary>
    public void Probe()
    {
        lock (_gate)
        {
            var init = _nvml.Initialize();
            if (!init.IsSuccess)
            {
                SetUnavailable(init.Error);
                return;
            }

            var devices = _status.Available ? _nvml.Rescan() : _nvml.GetDevices();
            if (!devices.IsSuccess)
            {
                SetUnavailable(devices.Error);
                return;
            }

            if (!_status.Available)
            {
                Log.Available(_logger, init.Value, devices.Value.Count);
                _loggedUnavailable = null;
            }

            _status = new GpuTelemetryStatus { Available = true, DriverVersion = init.Value };
            _devices = devices.Value;
            foreach (var device in devices.Value)
            {
                // A GPU found back keeps its entry; the next sample that reads it clears its lost mark.
                if (!_known.ContainsKey(device.Uuid))
                {
                    _known[device.Uuid] = new KnownGpu(new GpuInfo
                    {
                        Index = (uint)device.Index,
                        Uuid = device.Uuid,
                        Name = device.Name,
                        PciBusId = device.PciBusId,
                    });
                }
            }

            Interlocked.Increment(ref _generation);
        }
    }

    /// <summary>One sample of every known GPU; compute processes are listed when their interval has passed.</summary>
    public Protocol.V1.Telemetry Sample()
    {
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            var telemetry = new Protocol.V1.Telemetry { SampledAt = Timestamp.FromDateTimeOffset(_time.GetUtcNow()), Status = _status.Clone() };
            if (!_status.Available)
            {
                return telemetry;
            }

            var listProcesses = _processesSampledAt == long.MinValue || _time.GetElapsedTime(_processesSampledAt, now) >= _processInterval;
            if (listProcesses)
            {
                _processesSampledAt = now;
            }

            var present = new HashSet<string>(StringComparer.Ordinal);
            foreach (var device in _devices)
            {
                present.Add(device.Uuid);
                telemetry.Gpus.Add(SampleDevice(device, _known[device.Uuid], listProcesses));
            }

            // A GPU seen before and missing from the last enumeration is lost (NVML could not even get its handle).
            foreach (var known in _known.Values)
            {
                if (!present.Contains(known.Info.Uuid))
                {
                    MarkLost(known);
                    telemetry.Gpus.Add(LostSample(known, "missing from NVML's enumeration: the driver no longer gives a handle for it"));
                }
            }

            return telemetry;
        }
    }

    private GpuSample SampleDevice(IGpuDevice device, KnownGpu known, bool listProcesses)
    {
        var sample = new GpuSample { Gpu = known.Info.Clone(), Health = GpuHealth.Ok, CommandQueueSource = CommandQueueSource.Estimated };
        NvmlReturn? healthError = null;
        var sawUnknown = false;
        var lost = false;

        // A code that speaks of the GPU's health (GPU_IS_LOST, RESET_REQUIRED, UNKNOWN, NOT_READY) goes to
        // the health table; any other failure only means this field is unavailable. Both name the field.
        bool Read<T>(NvmlResult<T> result, string field, out T value)
        {
            if (result.TryGetValue(out value!))
            {
                return true;
            }

            var code = result.Error!.Code;
            if (code == NvmlReturn.GpuIsLost)
            {
                lost = true;
                return false;
            }

            if (GpuHealthTable.IsHealthError(code))
            {
                healthError = GpuHealthTable.Worse(healthError, code);
                sawUnknown |= code == NvmlReturn.Unknown;
            }

            sample.UnavailableFields.Add(field);
            return false;
        }

        ulong Known(ulong? value, string field)
        {
            if (value is null)
            {
                sample.UnavailableFields.Add(field);
            }

            return value ?? 0;
        }

        if (Read(device.GetMemory(), "memory", out var memory))
        {
            // A value NVML could not tell (NVML_VALUE_NOT_AVAILABLE) is left at zero and named, like a field it does not support.
            sample.MemoryTotalBytes = Known(memory.TotalBytes, "memoryTotalBytes");
            sample.MemoryUsedBytes = Known(memory.UsedBytes, "memoryUsedBytes");
            sample.MemoryFreeBytes = Known(memory.FreeBytes, "memoryFreeBytes");
        }

        if (!lost && Read(device.GetUtilization(), "utilization", out var utilization))
        {
            sample.UtilizationGpuPercent = Math.Min(utilization.GpuPercent, 100u);
            sample.UtilizationMemoryPercent = Math.Min(utilization.MemoryPercent, 100u);
        }

        if (!lost && Read(device.GetTemperatureC(), "temperatureC", out var temperature))
        {
            sample.TemperatureC = temperature;
        }

        if (!lost && Read(device.GetPowerMilliwatts(), "powerMilliwatts", out var power))
        {
            sample.PowerMilliwatts = power;
        }

        if (!lost && Read(device.GetMigEnabled(), "migEnabled", out var mig))
        {
            sample.MigEnabled = mig;
        }

        if (!lost && listProcesses && Read(device.GetComputeProcesses(), "processes", out var processes))
        {
            known.Processes = processes;
            known.ProcessesSampledAt = Timestamp.FromDateTimeOffset(_time.GetUtcNow());
        }

        if (lost)
        {
            MarkLost(known);
            return LostSample(known, GpuHealthTable.Classify(new GpuHealthInputs(NvmlReturn.GpuIsLost, 0, HeldXids.None)).Reason);
        }

        if (known.Lost)
        {
            known.Lost = false;
            Log.GpuBack(_logger, known.Info.Uuid, (int)known.Info.Index);
        }

        foreach (var process in known.Processes)
        {
            var listed = new Protocol.V1.GpuProcess { Pid = process.Pid };
            if (process.UsedMemoryBytes is { } used)
            {
                listed.UsedMemoryBytes = used;
            }

            sample.Processes.Add(listed);
        }

        sample.ProcessesSampledAt = known.ProcessesSampledAt;
        if (_reported.TryGetQueueLength(known.Info.Uuid, out var reported))
        {
            sample.CommandQueueLength = reported;
            sample.CommandQueueSource = CommandQueueSource.Reported;
        }
        else
        {
            sample.CommandQueueLength = CommandQueue.Estimate(known.Processes.Count, sample.UtilizationGpuPercent);
        }

        known.UnknownStreak = sawUnknown ? known.UnknownStreak + 1 : 0;
        var verdict = GpuHealthTable.Classify(new GpuHealthInputs(healthError, known.UnknownStreak, _health.Held(known.Info.Uuid)));
        sample.Health = verdict.Health;
        sample.HealthReason = verdict.Reason;
        sample.Xid = verdict.Xid;
        if (verdict.Health != known.Health)
        {
            known.Health = verdict.Health;
            Log.HealthChanged(_logger, known.Info.Uuid, (int)known.Info.Index, verdict.Health.ToString(), verdict.Reason);
        }

        return sample;
    }

    private static GpuSample LostSample(KnownGpu known, string reason)
        => new() { Gpu = known.Info.Clone(), Health = GpuHealth.Lost, HealthReason = reason, CommandQueueSource = CommandQueueSource.Estimated };

    private void MarkLost(KnownGpu known)
    {
        if (!known.Lost)
        {
            known.Lost = true;
            known.Processes = [];
            known.UnknownStreak = 0;
            known.Health = GpuHealth.Lost;
            Log.GpuLost(_logger, known.Info.Uuid, (int)known.Info.Index);
        }
    }

    private void SetUnavailable(NvmlError error)
    {
        var reason = Reason(error);
        _status = new GpuTelemetryStatus { Available = false, Reason = reason };
        if (_loggedUnavailable != reason)
        {
            _loggedUnavailable = reason;
            Log.Unavailable(_logger, reason);
        }
    }

    /// <summary>Why telemetry is unavailable, in the words operators search for.</summary>
    internal static string Reason(NvmlError error) => error.Code switch
    {
        NvmlReturn.LibraryNotFound => $"library not found: {error.Message}",
        NvmlReturn.FunctionNotFound => $"library too old: {error.Message}",
        NvmlReturn.DriverNotLoaded => "driver not loaded",
        NvmlReturn.LibRmVersionMismatch => "driver/library version mismatch",
        NvmlReturn.NoPermission => "no permission to use NVML",
        _ => $"{error.Call}: {error.Message}",
    };

    private sealed class KnownGpu(GpuInfo info)
    {
        public GpuInfo Info { get; } = info;

        public bool Lost { get; set; }

        public IReadOnlyList<Nvml.GpuProcess> Processes { get; set; } = [];

        public Timestamp? ProcessesSampledAt { get; set; }

        /// <summary>Samples in a row on which a call answered NVML_ERROR_UNKNOWN.</summary>
        public int UnknownStreak { get; set; }

        /// <summary>The health of the last sample, to log changes once.</summary>
        public GpuHealth Health { get; set; } = GpuHealth.Ok;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2301, EventName = "GpuTelemetryUnavailable", Level = LogLevel.Warning,
            Message = "GPU telemetry is unavailable: {Reason}. The agent keeps heartbeating and probes NVML again later.")]
        public static partial void Unavailable(ILogger logger, string reason);

        [LoggerMessage(EventId = 2302, EventName = "GpuTelemetryAvailable", Level = LogLevel.Information,
            Message = "NVML is available (driver {DriverVersion}); {Count} GPUs found.")]
        public static partial void Available(ILogger logger, string driverVersion, int count);

        [LoggerMessage(EventId = 2303, EventName = "GpuLost", Level = LogLevel.Warning,
            Message = "GPU '{Uuid}' (index {Index}) is lost; it is reported lost and probed again later.")]
        public static partial void GpuLost(ILogger logger, string uuid, int index);

        [LoggerMessage(EventId = 2304, EventName = "GpuBack", Level = LogLevel.Information,
            Message = "GPU '{Uuid}' (index {Index}) answers again.")]
        public static partial void GpuBack(ILogger logger, string uuid, int index);

        [LoggerMessage(EventId = 2305, EventName = "GpuHealthChanged", Level = LogLevel.Warning,
            Message = "GPU '{Uuid}' (index {Index}) is now {Health}: '{Reason}'.")]
        public static partial void HealthChanged(ILogger logger, string uuid, int index, string health, string reason);
    }
}
