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
    private readonly MeasuredGpuWork? _measured;
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
    private string _enumerated = "";
    private long _migProbedAt;
    private volatile bool _migStale;

    // Recovery: samples in a row on which no GPU answered any call; while NVML is shut down to recover,
    // when it is initialised again and why; recoveries since a GPU last answered (the back-off doubles).
    private int _silentSamples;
    private long? _recoverAt;
    private string? _recovering;
    private int _recoveries;
    private readonly TimeSpan _reprobeInterval;
    private readonly TimeSpan _callTimeout;

    public GpuTelemetry(INvml nvml, GpuHealthBoard health, ReportedGpuWork reported, AgentOptions options, TimeProvider time, ILogger<GpuTelemetry> logger, MeasuredGpuWork? measured = null)
    {
        _nvml = nvml;
        _health = health;
        _reported = reported;
        _measured = measured;
        _time = time;
        _logger = logger;
        _processInterval = options.ProcessSampleInterval;
        _reprobeInterval = options.GpuReprobeInterval;
        _callTimeout = options.NvmlCallTimeout;
        Probe();
    }

    /// <summary>How many samples in a row without a single answer from any GPU make the agent shut NVML down and initialise it again.</summary>
    public const int SilentSamplesBeforeRecovery = 3;

    /// <summary>The longest back-off between two recoveries that found no GPU answering.</summary>
    public static readonly TimeSpan LongestRecoveryBackOff = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Increases whenever the enumerated devices change (or NVML was initialised again), so the event loop
    /// builds a new event set; a re-probe that finds the same GPUs keeps the set and the events queued in it.
    /// </summary>
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

    /// <summary>
    /// Whether a probe could change something: NVML unavailable, or a known GPU lost. While NVML is shut down to
    /// recover, not before its back-off ran out.
    /// </summary>
    public bool NeedsProbe
    {
        get
        {
            lock (_gate)
            {
                if (_recoverAt is { } at && _time.GetTimestamp() < at)
                {
                    return false;
                }

                // MIG instances are created and destroyed without any GPU coming or going: a GPU with MIG is
                // enumerated again at every re-probe interval, and at once when a MIG instance's handle went stale.
                return !_status.Available || _known.Values.Any(k => k.Lost) || _migStale
                    || (_devices.Any(d => d.Mig is not null) && _time.GetElapsedTime(_migProbedAt) >= _reprobeInterval);
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

            if (_recovering is not null)
            {
                Log.Recovered(_logger, init.Value, devices.Value.Count, _recovering);
                _recovering = null;
            }

            _recoverAt = null;
            _status = new GpuTelemetryStatus { Available = true, DriverVersion = init.Value };
            _devices = devices.Value;
            foreach (var device in devices.Value)
            {
                // A GPU found back keeps its entry; the next sample that reads it clears its lost mark.
                if (!_known.ContainsKey(device.Uuid))
                {
                    _known[device.Uuid] = new KnownGpu(InfoOf(device));
                }
            }

            ForgetReconfiguredMig(devices.Value);
            _migProbedAt = _time.GetTimestamp();
            _migStale = false;

            // The event set (on whole GPUs: NVML reports a MIG instance's events on its GPU) stays while the GPUs are
            // the same ones: the events queued in it are not lost.
            var enumerated = string.Join(',', devices.Value.Where(d => d.Mig is null).Select(d => d.Uuid));
            if (enumerated != _enumerated || _generation == 0)
            {
                _enumerated = enumerated;
                Interlocked.Increment(ref _generation);
            }
        }
    }

    private static GpuInfo InfoOf(IGpuDevice device) => new()
    {
        Index = (uint)device.Index,
        Uuid = device.Uuid,
        Name = device.Name,
        PciBusId = device.PciBusId,
        ParentUuid = device.Mig?.ParentUuid ?? "",
        MigProfile = device.Mig?.Profile ?? "",
        GpuInstanceId = device.Mig?.GpuInstanceId ?? 0,
        ComputeInstanceId = device.Mig?.ComputeInstanceId ?? 0,
    };

    /// <summary>
    /// A MIG instance known before and missing now from a GPU that is still enumerated was destroyed (MIG reconfigured,
    /// or MIG turned off): it is forgotten, not reported lost. A MIG instance of a GPU that is itself missing stays, lost
    /// with its GPU.
    /// </summary>
    private void ForgetReconfiguredMig(IReadOnlyList<IGpuDevice> devices)
    {
        var enumerated = devices.Select(d => d.Uuid).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _known.Values.Where(k => k.Info.ParentUuid.Length > 0 && !enumerated.Contains(k.Info.Uuid) && enumerated.Contains(k.Info.ParentUuid)).ToList())
        {
            _known.Remove(gone.Info.Uuid);
            Log.MigInstanceGone(_logger, gone.Info.Uuid, gone.Info.ParentUuid);
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
                AddUnavailable(telemetry);
                return telemetry;
            }

            var listProcesses = _processesSampledAt == long.MinValue || _time.GetElapsedTime(_processesSampledAt, now) >= _processInterval;
            if (listProcesses)
            {
                _processesSampledAt = now;
            }

            // The probes' pages, read once for every GPU of the sample: memory loads, no call into the driver.
            _measured?.Refresh(_known.Keys);
            var present = new HashSet<string>(StringComparer.Ordinal);
            var round = new SampleRound();
            foreach (var gpu in SampleDevices(listProcesses, now, round))
            {
                present.Add(gpu.Gpu.Uuid);
                telemetry.Gpus.Add(gpu);
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

            if (Recovery(round) is { } why)
            {
                Recover(why, now);
                telemetry.Status = _status.Clone();
                telemetry.Gpus.Clear();
                AddUnavailable(telemetry);
            }

            return telemetry;
        }
    }

    /// <summary>
    /// Samples every enumerated GPU, each on a thread of the pool, so that one GPU whose NVML call hangs holds up
    /// neither the others nor the sample: after <see cref="AgentOptions.NvmlCallTimeout"/> it is reported
    /// unhealthy (hung) and, until its call returns, no new call is made on it (its thread stays in the driver).
    /// When every GPU's call hangs, the library as a whole does: the sample waits for one to return, so the
    /// sampling loop stops and the systemd watchdog restarts the agent.
    /// </summary>
    private GpuSample[] SampleDevices(bool listProcesses, long now, SampleRound round)
    {
        var devices = _devices;
        var samples = new GpuSample[devices.Count];
        var calls = new Task<GpuSample>?[devices.Count];
        var rounds = new SampleRound[devices.Count];
        for (var i = 0; i < devices.Count; i++)
        {
            var device = devices[i];
            var known = _known[device.Uuid];
            if (known.Call is { IsCompleted: false })
            {
                continue; // still in the driver since an earlier sample
            }

            var deviceRound = rounds[i] = new SampleRound();
            known.CallStartedAt = now;
            calls[i] = known.Call = Task.Run(() => SampleDevice(device, known, listProcesses, deviceRound));
        }

        var posted = calls.OfType<Task<GpuSample>>().ToArray();
        try
        {
            Task.WhenAll(posted).WaitAsync(_callTimeout, _time).Wait();
        }
        catch (AggregateException)
        {
            // The bound passed (the calls still out are reported hung below), or a sample threw (rethrown below).
        }

        if (devices.Count > 0 && !calls.Any(c => c is { IsCompleted: true }))
        {
            // Every GPU's call hangs, now or since an earlier sample: the library does. Wait for one to return, so
            // the sampling loop stops and the watchdog sees it.
            Task.WhenAny(devices.Select(d => (Task)_known[d.Uuid].Call!)).Wait();
        }

        for (var i = 0; i < devices.Count; i++)
        {
            var known = _known[devices[i].Uuid];
            if (calls[i] is { IsCompleted: true } call)
            {
                samples[i] = call.GetAwaiter().GetResult();
                round.Merge(rounds[i]);
            }
            else
            {
                samples[i] = HungSample(known, now);
            }
        }

        InheritParentHealth(samples);
        return samples;
    }

    /// <summary>
    /// A MIG instance is no sounder than the GPU it is carved from: where its GPU's health is worse (a hardware XID,
    /// a reset required, throttling, a hung call), the instance takes it, with the GPU named in the reason.
    /// </summary>
    private static void InheritParentHealth(GpuSample[] samples)
    {
        foreach (var sample in samples)
        {
            if (sample.Gpu.ParentUuid.Length == 0 ||
                Array.Find(samples, s => string.Equals(s.Gpu.Uuid, sample.Gpu.ParentUuid, StringComparison.Ordinal)) is not { } parent ||
                GpuHealthTable.Severity(parent.Health) <= GpuHealthTable.Severity(sample.Health))
            {
                continue;
            }

            sample.Health = parent.Health;
            sample.HealthReason = Truncate($"its GPU {parent.Gpu.Uuid}: {parent.HealthReason}");
            sample.Xid = parent.Xid;
        }
    }

    /// <summary>A GPU whose NVML call has not returned: not placed on, its numbers unknown.</summary>
    private GpuSample HungSample(KnownGpu known, long now)
    {
        var seconds = known.CallStartedAt is { } started ? _time.GetElapsedTime(started, now).TotalSeconds : 0;
        if (known.Health != GpuHealth.Unhealthy)
        {
            known.Health = GpuHealth.Unhealthy;
            Log.HealthChanged(_logger, known.Info.Uuid, (int)known.Info.Index, GpuHealth.Unhealthy.ToString(), "hung NVML call");
        }

        return new GpuSample
        {
            Gpu = known.Info.Clone(),
            Health = GpuHealth.Unhealthy,
            HealthReason = $"an NVML call on this GPU has not returned for {Math.Max(seconds, _callTimeout.TotalSeconds):0} s (hung in the driver); the other GPUs are sampled without it",
            CommandQueueSource = CommandQueueSource.Unknown,
        };
    }

    /// <summary>While NVML is unavailable, every GPU seen before is reported unavailable: not lost, expected back once NVML is.</summary>
    private void AddUnavailable(Protocol.V1.Telemetry telemetry)
    {
        foreach (var known in _known.Values.OrderBy(k => k.Info.Index))
        {
            telemetry.Gpus.Add(new GpuSample
            {
                Gpu = known.Info.Clone(),
                Health = GpuHealth.Unavailable,
                HealthReason = Truncate($"NVML unavailable: {_status.Reason}"),
                CommandQueueSource = CommandQueueSource.Unknown,
            });
        }
    }

    /// <summary>
    /// Why NVML must be shut down and initialised again after this sample; null when it need not. At once when a
    /// call says NVML is not initialised, the driver is not loaded or the library does not match it (a reload);
    /// after <see cref="SilentSamplesBeforeRecovery"/> samples in a row on which no known GPU answered any call
    /// (every GPU lost or failing, as after a driver reload under the library).
    /// </summary>
    private string? Recovery(SampleRound round)
    {
        // Never shut NVML down under a thread still inside it (a hung GPU's call): wait for that call first.
        var inside = _known.Values.Any(k => k.Call is { IsCompleted: false });
        if (round.Fatal is { } fatal && !inside)
        {
            return $"a call answered {fatal}";
        }

        if (round.Answered || _known.Count == 0)
        {
            _silentSamples = 0;
            _recoveries = 0;
            return null;
        }

        return ++_silentSamples >= SilentSamplesBeforeRecovery && !inside
            ? $"no GPU answered any call for {_silentSamples} samples{(round.LastError is { } last ? $" (last: {last})" : "")}"
            : null;
    }

    /// <summary>
    /// Shuts NVML down (releasing the GPUs, so a reset or a driver reload can run) and reports every GPU
    /// unavailable until the next probe initialises it again, after a back-off: the re-probe interval, doubled
    /// with each recovery that found no GPU answering, at most <see cref="LongestRecoveryBackOff"/>.
    /// </summary>
    private void Recover(string why, long now)
    {
        _nvml.Shutdown(TimeSpan.FromSeconds(5));
        var backOff = TimeSpan.FromTicks(Math.Min(_reprobeInterval.Ticks << Math.Min(_recoveries, 16), LongestRecoveryBackOff.Ticks));
        _recoveries++;
        _silentSamples = 0;
        _recovering = why;
        _recoverAt = now + (long)(backOff.TotalSeconds * _time.TimestampFrequency);
        _devices = [];
        _enumerated = "";
        Interlocked.Increment(ref _generation);
        var reason = $"NVML shut down to recover: {why}; initialised again in {backOff.TotalSeconds:0} s";
        _status = new GpuTelemetryStatus { Available = false, Reason = reason };
        _loggedUnavailable = reason;
        Log.Recovering(_logger, why, (int)backOff.TotalSeconds);
    }

    private static string Truncate(string reason) => reason.Length <= 256 ? reason : reason[..256];

    private GpuSample SampleDevice(IGpuDevice device, KnownGpu known, bool listProcesses, SampleRound round)
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
                round.Answered = true;
                return true;
            }

            var code = result.Error!.Code;
            round.LastError = result.Error.ToString();
            if (code is NvmlReturn.Uninitialized or NvmlReturn.DriverNotLoaded or NvmlReturn.LibRmVersionMismatch)
            {
                round.Fatal ??= result.Error.ToString();
            }

            if (code == NvmlReturn.GpuIsLost)
            {
                lost = true;
                return false;
            }

            if (device.Mig is not null && code is NvmlReturn.NotFound or NvmlReturn.InvalidArgument)
            {
                _migStale = true; // destroyed or reconfigured: its handle must be requested again
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
            sample.MemoryReservedBytes = memory.ReservedBytes ?? 0;
        }

        var utilizationRead = false;
        if (!lost && Read(device.GetUtilization(), "utilization", out var utilization))
        {
            utilizationRead = true;
            sample.UtilizationGpuPercent = Math.Min(utilization.GpuPercent, 100u);
            sample.UtilizationMemoryPercent = Math.Min(utilization.MemoryPercent, 100u);
        }

        if (!lost && Read(device.GetTemperatureC(), "temperatureC", out var temperature))
        {
            sample.TemperatureC = temperature;
        }

        if (!lost && Read(device.GetMemoryTemperatureC(), "memoryTemperatureC", out var memoryTemperature))
        {
            sample.MemoryTemperatureC = memoryTemperature;
        }

        // GPM: measured activity, where the driver and GPU offer it (on a MIG instance, the instance's own).
        double? activity = null;
        if (!lost && Read(device.GetActivity(), "gpmActivity", out var gpm))
        {
            if (gpm is not { } measured)
            {
                sample.UnavailableFields.Add("gpmActivity"); // the first sample: nothing to measure against yet
            }
            else
            {
                activity = measured.GraphicsPercent;
                sample.GraphicsActivityPercent = Gpm(measured.GraphicsPercent, "graphicsActivityPercent");
                sample.SmActivityPercent = Gpm(measured.SmPercent, "smActivityPercent");
                sample.SmOccupancyPercent = Gpm(measured.SmOccupancyPercent, "smOccupancyPercent");
            }
        }

        double Gpm(double? value, string field)
        {
            if (value is null)
            {
                sample.UnavailableFields.Add(field);
            }

            return value ?? 0;
        }

        if (!lost && Read(device.GetPowerMilliwatts(), "powerMilliwatts", out var power))
        {
            sample.PowerMilliwatts = power;
        }

        if (!lost && Read(device.GetMigEnabled(), "migEnabled", out var mig))
        {
            sample.MigEnabled = mig;
        }

        // The operators' fields. Cheap ones every sample; PCIe (each throughput call measures for 20 ms), ECC and
        // remapped rows with the process list, kept in between.
        var reasons = GpuClockEventReasons.None;
        if (!lost)
        {
            sample.SmClockMhz = Read(device.GetClockMhz(GpuClock.Sm), "smClockMhz", out var sm) ? sm : 0;
            sample.MemoryClockMhz = Read(device.GetClockMhz(GpuClock.Memory), "memoryClockMhz", out var memoryClock) ? memoryClock : 0;
            reasons = Read(device.GetClockEventReasons(), "clockEventReasons", out var held) ? held : GpuClockEventReasons.None;
            sample.ClockEventReasons = (ulong)reasons;
            sample.EnergyMillijoules = Read(device.GetTotalEnergyMillijoules(), "energyMillijoules", out var energy) ? energy : 0;
            sample.EncoderUtilizationPercent = Read(device.GetEncoderUtilizationPercent(), "encoderUtilizationPercent", out var encoder) ? Math.Min(encoder, 100u) : 0;
            sample.DecoderUtilizationPercent = Read(device.GetDecoderUtilizationPercent(), "decoderUtilizationPercent", out var decoder) ? Math.Min(decoder, 100u) : 0;
        }

        if (!lost && listProcesses)
        {
            if (Read(device.GetComputeProcesses(), "processes", out var processes))
            {
                known.Processes = processes;
                known.ProcessesSampledAt = Timestamp.FromDateTimeOffset(_time.GetUtcNow());
                known.ProcessesListedAt = _time.GetTimestamp();
            }

            // Kept until the next slow round, with the names of those NVML did not answer for.
            var unavailableBefore = sample.UnavailableFields.Count;
            known.Slow = new SlowFields
            {
                PcieTx = Read(device.GetPcieThroughputKilobytesPerSecond(PcieDirection.Transmit), "pcieTxKilobytesPerSecond", out var tx) ? tx : 0,
                PcieRx = Read(device.GetPcieThroughputKilobytesPerSecond(PcieDirection.Receive), "pcieRxKilobytesPerSecond", out var rx) ? rx : 0,
                PcieReplays = Read(device.GetPcieReplayCount(), "pcieReplays", out var replays) ? replays : 0,
                EccCorrected = Read(device.GetEccErrors(EccErrorKind.Corrected), "eccCorrectedErrors", out var corrected) ? corrected : 0,
                EccUncorrected = Read(device.GetEccErrors(EccErrorKind.Uncorrected), "eccUncorrectedErrors", out var uncorrected) ? uncorrected : 0,
                RemappedRows = Read(device.GetRemappedRows(), "remappedRows", out var rows) ? rows : null,
                Unavailable = [.. sample.UnavailableFields.Skip(unavailableBefore).Where(f => f != "processes")],
            };
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
        known.Slow.CopyTo(sample);
        // The queue length with its source and age: measured by the CUDA launch probe in the instances that run with it
        // (the newest publication's age), else reported by instances (the newest fresh report's age), else
        // estimated from the process list (its age) and this sample's activity (GPM's measured graphics activity
        // where the GPU offers it, else utilization), else unknown (neither: a MIG instance without GPM, or a GPU
        // that supports neither), never a made-up zero that reads as idle.
        if (_measured is not null && _measured.TryGetQueueLength(known.Info.Uuid, out var measuredLength, out var measuredAge))
        {
            sample.CommandQueueLength = measuredLength;
            sample.CommandQueueSource = CommandQueueSource.Measured;
            sample.CommandQueueAgeMs = (uint)Math.Min(measuredAge.TotalMilliseconds, uint.MaxValue);
        }
        else if (_reported.TryGetQueueLength(known.Info.Uuid, out var reported, out var reportedAge))
        {
            sample.CommandQueueLength = reported;
            sample.CommandQueueSource = CommandQueueSource.Reported;
            sample.CommandQueueAgeMs = (uint)Math.Min(reportedAge.TotalMilliseconds, uint.MaxValue);
        }
        else if (activity is not null || utilizationRead)
        {
            var busy = activity is { } measured ? (uint)Math.Round(measured) : sample.UtilizationGpuPercent;
            sample.CommandQueueLength = CommandQueue.Estimate(known.Processes.Count, busy);
            sample.CommandQueueAgeMs = known.ProcessesListedAt is { } listed ? (uint)Math.Min(_time.GetElapsedTime(listed).TotalMilliseconds, uint.MaxValue) : 0;
        }
        else
        {
            sample.CommandQueueSource = CommandQueueSource.Unknown;
        }

        known.UnknownStreak = sawUnknown ? known.UnknownStreak + 1 : 0;
        var verdict = GpuHealthTable.Classify(new GpuHealthInputs(healthError, known.UnknownStreak, _health.Held(known.Info.Uuid), reasons, known.Slow.RemappedRows));
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
        => new() { Gpu = known.Info.Clone(), Health = GpuHealth.Lost, HealthReason = reason, CommandQueueSource = CommandQueueSource.Unknown };

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

    /// <summary>What one sample of every GPU saw, for <see cref="Recovery"/>.</summary>
    private sealed class SampleRound
    {
        /// <summary>Adds what one GPU's sample saw.</summary>
        public void Merge(SampleRound device)
        {
            Answered |= device.Answered;
            Fatal ??= device.Fatal;
            LastError = device.LastError ?? LastError;
        }

        /// <summary>Some call on some GPU succeeded.</summary>
        public bool Answered { get; set; }

        /// <summary>The first answer that only initialising NVML again can cure.</summary>
        public string? Fatal { get; set; }

        public string? LastError { get; set; }
    }

    /// <summary>The fields read at the process-sample interval, as last read.</summary>
    private sealed class SlowFields
    {
        public uint PcieTx { get; init; }

        public uint PcieRx { get; init; }

        public uint PcieReplays { get; init; }

        public ulong EccCorrected { get; init; }

        public ulong EccUncorrected { get; init; }

        public GpuRemappedRows? RemappedRows { get; init; }

        /// <summary>Those NVML did not answer for, by their field names.</summary>
        public IReadOnlyList<string> Unavailable { get; init; } = [];

        public void CopyTo(GpuSample sample)
        {
            sample.PcieTxKilobytesPerSecond = PcieTx;
            sample.PcieRxKilobytesPerSecond = PcieRx;
            sample.PcieReplays = PcieReplays;
            sample.EccCorrectedErrors = EccCorrected;
            sample.EccUncorrectedErrors = EccUncorrected;
            if (RemappedRows is { } rows)
            {
                sample.RemappedRowsCorrected = rows.Corrected;
                sample.RemappedRowsUncorrected = rows.Uncorrected;
                sample.RemapPending = rows.Pending;
                sample.RemapFailure = rows.Failed;
            }

            foreach (var field in Unavailable)
            {
                if (!sample.UnavailableFields.Contains(field))
                {
                    sample.UnavailableFields.Add(field);
                }
            }
        }
    }

    private sealed class KnownGpu(GpuInfo info)
    {
        public GpuInfo Info { get; } = info;

        public bool Lost { get; set; }

        public IReadOnlyList<Nvml.GpuProcess> Processes { get; set; } = [];

        public Timestamp? ProcessesSampledAt { get; set; }

        /// <summary>When the processes were listed, on the agent's monotonic clock; null before.</summary>
        public long? ProcessesListedAt { get; set; }

        /// <summary>Samples in a row on which a call answered NVML_ERROR_UNKNOWN.</summary>
        public int UnknownStreak { get; set; }

        /// <summary>The sample of this GPU in progress or last made, on a thread of the pool; null before the first.</summary>
        public Task<GpuSample>? Call { get; set; }

        /// <summary>When <see cref="Call"/> was made, on the agent's monotonic clock.</summary>
        public long? CallStartedAt { get; set; }

        /// <summary>The fields read at the process-sample interval; nothing read before the first.</summary>
        public SlowFields Slow { get; set; } = new();

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

        [LoggerMessage(EventId = 2306, EventName = "GpuTelemetryRecovering", Level = LogLevel.Warning,
            Message = "NVML is shut down to recover: {Why}. Its GPUs are reported unavailable; NVML is initialised again in {Seconds} s.")]
        public static partial void Recovering(ILogger logger, string why, int seconds);

        [LoggerMessage(EventId = 2307, EventName = "GpuTelemetryRecovered", Level = LogLevel.Information,
            Message = "NVML initialised again (driver {DriverVersion}); {Count} GPUs found after recovering from: {Why}.")]
        public static partial void Recovered(ILogger logger, string driverVersion, int count, string why);

        [LoggerMessage(EventId = 2308, EventName = "MigInstanceGone", Level = LogLevel.Information,
            Message = "MIG instance '{Uuid}' of GPU '{ParentUuid}' is no longer enumerated (MIG was reconfigured); it is forgotten.")]
        public static partial void MigInstanceGone(ILogger logger, string uuid, string parentUuid);

        [LoggerMessage(EventId = 2305, EventName = "GpuHealthChanged", Level = LogLevel.Warning,
            Message = "GPU '{Uuid}' (index {Index}) is now {Health}: '{Reason}'.")]
        public static partial void HealthChanged(ILogger logger, string uuid, int index, string health, string reason);
    }
}
