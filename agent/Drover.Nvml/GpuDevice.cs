using System.Runtime.InteropServices;
using Drover.Nvml.Interop;

namespace Drover.Nvml;

/// <summary>
/// <see cref="IGpuDevice"/> over a cached <c>nvmlDevice_t</c>. Reads are one NVML call each; the handle, index,
/// name and bus id are replaced together by <see cref="INvml.Rescan"/>.
/// </summary>
internal sealed unsafe class GpuDevice : IGpuDevice
{
    /// <summary>The first process buffer, in records; it grows (count * 2 + 5, as pynvml does) when NVML says it is too small.</summary>
    internal const int InitialProcessCapacity = 32;

    /// <summary>The process buffer never grows past this many entries.</summary>
    internal const int MaxProcessCapacity = 65536;

    private const int ProcessAttempts = 4;

    private readonly Lock _processGate = new();
    private readonly Lock _gpmGate = new();
    private readonly GpmSampler _gpm = new();
    private Identity _identity;
    /// <summary>
    /// Room for a whole number of records of <see cref="NvmlProcessList.MaxRecordBytes"/> whatever record
    /// size was detected, so a driver writing larger records than its exports suggest cannot write past it.
    /// </summary>
    private byte[] _processBuffer = new byte[InitialProcessCapacity * NvmlProcessList.MaxRecordBytes];
    private GpuProcess[] _lastProcesses = [];

    internal GpuDevice(NvmlClient owner, string uuid, int index, nint handle, string name, string pciBusId, GpuMigInstance? mig = null)
    {
        Owner = owner;
        Uuid = uuid;
        _identity = new Identity(index, handle, name, pciBusId, mig);
    }

    public int Index => Volatile.Read(ref _identity).Index;

    public string Uuid { get; }

    public GpuMigInstance? Mig => Volatile.Read(ref _identity).Mig;

    public string Name => Volatile.Read(ref _identity).Name;

    public string PciBusId => Volatile.Read(ref _identity).PciBusId;

    internal NvmlClient Owner { get; }

    internal nint Handle => Volatile.Read(ref _identity).Handle;

    public unsafe NvmlResult<GpuMemory> GetMemory()
    {
        if (Owner.Closed("nvmlDeviceGetMemoryInfo") is { } closed)
        {
            return NvmlResult<GpuMemory>.Fail(closed);
        }

        if (Owner.UseMemoryInfoV2)
        {
            var memory = new NvmlMemoryV2 { Version = NvmlMemoryV2.StructVersion };
            var code = NvmlInterop.DeviceGetMemoryInfoV2(Handle, &memory);
            return code == NvmlReturn.Success
                ? NvmlResult<GpuMemory>.Ok(new GpuMemory(
                    NvmlInterop.Known(memory.Total), NvmlInterop.Known(memory.Used), NvmlInterop.Known(memory.Free), NvmlInterop.Known(memory.Reserved)))
                : NvmlErrors.Fail<GpuMemory>(code, "nvmlDeviceGetMemoryInfo_v2");
        }

        NvmlMemory legacy = default;
        var legacyCode = NvmlInterop.DeviceGetMemoryInfo(Handle, &legacy);
        return legacyCode == NvmlReturn.Success
            ? NvmlResult<GpuMemory>.Ok(new GpuMemory(NvmlInterop.Known(legacy.Total), NvmlInterop.Known(legacy.Used), NvmlInterop.Known(legacy.Free), 0))
            : NvmlErrors.Fail<GpuMemory>(legacyCode, "nvmlDeviceGetMemoryInfo");
    }

    public unsafe NvmlResult<GpuUtilization> GetUtilization()
    {
        const string Call = "nvmlDeviceGetUtilizationRates";
        if (Owner.Closed(Call) is { } closed)
        {
            return NvmlResult<GpuUtilization>.Fail(closed);
        }

        NvmlUtilization utilization = default;
        var code = NvmlInterop.DeviceGetUtilizationRates(Handle, &utilization);
        return code == NvmlReturn.Success
            ? NvmlResult<GpuUtilization>.Ok(new GpuUtilization(utilization.Gpu, utilization.Memory))
            : NvmlErrors.Fail<GpuUtilization>(code, Call);
    }

    public unsafe NvmlResult<uint> GetTemperatureC()
    {
        const string Call = "nvmlDeviceGetTemperature";
        if (Owner.Closed(Call) is { } closed)
        {
            return NvmlResult<uint>.Fail(closed);
        }

        uint temperature = 0;
        var code = NvmlInterop.DeviceGetTemperature(Handle, NvmlInterop.TemperatureGpu, &temperature);
        return code == NvmlReturn.Success ? NvmlResult<uint>.Ok(temperature) : NvmlErrors.Fail<uint>(code, Call);
    }

    public unsafe NvmlResult<uint> GetPowerMilliwatts()
    {
        const string Call = "nvmlDeviceGetPowerUsage";
        if (Owner.Closed(Call) is { } closed)
        {
            return NvmlResult<uint>.Fail(closed);
        }

        uint power = 0;
        var code = NvmlInterop.DeviceGetPowerUsage(Handle, &power);
        return code == NvmlReturn.Success ? NvmlResult<uint>.Ok(power) : NvmlErrors.Fail<uint>(code, Call);
    }

    public unsafe NvmlResult<bool> GetMigEnabled()
    {
        const string Call = "nvmlDeviceGetMigMode";
        if (Owner.Closed(Call) is { } closed)
        {
            return NvmlResult<bool>.Fail(closed);
        }

        uint current = 0;
        uint pending = 0;
        var code = NvmlInterop.DeviceGetMigMode(Handle, &current, &pending);
        return code == NvmlReturn.Success
            ? NvmlResult<bool>.Ok(current == NvmlInterop.MigEnable)
            : NvmlErrors.Fail<bool>(code, Call);
    }

    public unsafe NvmlResult<IReadOnlyList<GpuProcess>> GetComputeProcesses()
    {
        var list = Owner.ProcessList;
        var call = list?.Symbol ?? NvmlProcessList.ComputeProcessesV3Symbol;
        if (Owner.Closed(call) is { } closed)
        {
            return NvmlResult<IReadOnlyList<GpuProcess>>.Fail(closed);
        }

        if (list is null)
        {
            return NvmlResult<IReadOnlyList<GpuProcess>>.Fail(NvmlErrors.Disposed(call));
        }

        lock (_processGate)
        {
            for (var attempt = 0; attempt < ProcessAttempts; attempt++)
            {
                var capacity = (uint)(_processBuffer.Length / NvmlProcessList.MaxRecordBytes);
                var count = capacity;
                NvmlReturn code;
                fixed (byte* infos = _processBuffer)
                {
                    code = list.Invoke(Handle, &count, infos);
                }

                if (code == NvmlReturn.Success)
                {
                    return NvmlResult<IReadOnlyList<GpuProcess>>.Ok(Publish((int)Math.Min(count, capacity), list.RecordBytes));
                }

                if (code != NvmlReturn.InsufficientSize || count > MaxProcessCapacity)
                {
                    return NvmlErrors.Fail<IReadOnlyList<GpuProcess>>(code, call);
                }

                // Processes may start between two calls: leave room, as pynvml does.
                _processBuffer = new byte[(int)Math.Min((count * 2) + 5, MaxProcessCapacity) * NvmlProcessList.MaxRecordBytes];
            }

            return NvmlErrors.Fail<IReadOnlyList<GpuProcess>>(NvmlReturn.InsufficientSize, call);
        }
    }

    public NvmlResult<uint> GetClockMhz(GpuClock clock) => clock switch
    {
        GpuClock.Sm => Read<uint>(&SmClock, "nvmlDeviceGetClockInfo"),
        GpuClock.Memory => Read<uint>(&MemoryClock, "nvmlDeviceGetClockInfo"),
        _ => throw new ArgumentOutOfRangeException(nameof(clock), clock, "Sm or Memory."),
    };

    public NvmlResult<GpuClockEventReasons> GetClockEventReasons()
    {
        var reasons = Read<ulong>(&NvmlInterop.DeviceGetClockEventReasons, NvmlInterop.ClockEventReasonsCall);
        return reasons.TryGetValue(out var bits)
            ? NvmlResult<GpuClockEventReasons>.Ok((GpuClockEventReasons)bits)
            : NvmlResult<GpuClockEventReasons>.Fail(reasons.Error!);
    }

    public NvmlResult<ulong> GetTotalEnergyMillijoules() => Read<ulong>(&NvmlInterop.DeviceGetTotalEnergyConsumption, "nvmlDeviceGetTotalEnergyConsumption");

    public NvmlResult<uint> GetPcieThroughputKilobytesPerSecond(PcieDirection direction) => direction switch
    {
        PcieDirection.Transmit => Read<uint>(&PcieTransmit, "nvmlDeviceGetPcieThroughput"),
        PcieDirection.Receive => Read<uint>(&PcieReceive, "nvmlDeviceGetPcieThroughput"),
        _ => throw new ArgumentOutOfRangeException(nameof(direction), direction, "Transmit or Receive."),
    };

    public NvmlResult<uint> GetPcieReplayCount() => Read<uint>(&NvmlInterop.DeviceGetPcieReplayCounter, "nvmlDeviceGetPcieReplayCounter");

    public NvmlResult<uint> GetEncoderUtilizationPercent() => Read<uint>(&EncoderUtilization, "nvmlDeviceGetEncoderUtilization");

    public NvmlResult<uint> GetDecoderUtilizationPercent() => Read<uint>(&DecoderUtilization, "nvmlDeviceGetDecoderUtilization");

    public NvmlResult<ulong> GetEccErrors(EccErrorKind kind) => kind switch
    {
        EccErrorKind.Corrected => Read<ulong>(&CorrectedEcc, "nvmlDeviceGetTotalEccErrors"),
        EccErrorKind.Uncorrected => Read<ulong>(&UncorrectedEcc, "nvmlDeviceGetTotalEccErrors"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Corrected or Uncorrected."),
    };

    public NvmlResult<GpuRemappedRows> GetRemappedRows()
    {
        const string Call = "nvmlDeviceGetRemappedRows";
        if (Owner.Closed(Call) is { } closed)
        {
            return NvmlResult<GpuRemappedRows>.Fail(closed);
        }

        uint corrected = 0, uncorrected = 0, pending = 0, failed = 0;
        var code = NvmlInterop.DeviceGetRemappedRows(Handle, &corrected, &uncorrected, &pending, &failed);
        return code == NvmlReturn.Success
            ? NvmlResult<GpuRemappedRows>.Ok(new GpuRemappedRows(corrected, uncorrected, pending != 0, failed != 0))
            : NvmlErrors.Fail<GpuRemappedRows>(code, Call);
    }

    public NvmlResult<uint> GetMemoryTemperatureC()
    {
        const string Call = "nvmlDeviceGetFieldValues";
        if (Owner.Closed(Call) is { } closed)
        {
            return NvmlResult<uint>.Fail(closed);
        }

        var value = new NvmlFieldValue { FieldId = NvmlFieldValue.MemoryTemperature };
        var code = NvmlInterop.DeviceGetFieldValues(Handle, 1, &value);
        if (code == NvmlReturn.Success)
        {
            code = value.Return; // the call answers for the batch; each value has its own answer
        }

        return code == NvmlReturn.Success ? NvmlResult<uint>.Ok((uint)Math.Min(value.Read(), uint.MaxValue)) : NvmlErrors.Fail<uint>(code, Call);
    }

    public NvmlResult<GpuActivity?> GetActivity()
    {
        const string Call = "nvmlGpmMetricsGet";
        if (Owner.Closed(Call) is { } closed)
        {
            return NvmlResult<GpuActivity?>.Fail(closed);
        }

        if (!NvmlGpm.Available)
        {
            return NvmlResult<GpuActivity?>.Fail(new NvmlError(NvmlReturn.NotSupported, "The NVML library has no GPM (drivers before R520).", Call));
        }

        // The handle is looked up before the lock: shutting down takes the client's lock, then this one.
        var handle = GpmHandle;
        lock (_gpmGate)
        {
            return _gpm.Measure(this, handle);
        }
    }

    /// <summary>The handle GPM samples this device through: its own, or its GPU's for a MIG instance (0 when that GPU is not known).</summary>
    internal nint GpmHandle => Mig is { } mig ? Owner.HandleOf(mig.ParentUuid) : Handle;

    /// <summary>Frees this device's GPM samples (before NVML is shut down); skipped if a GPM call on it has not returned within a second.</summary>
    internal void ReleaseGpm()
    {
        if (!_gpmGate.TryEnter(TimeSpan.FromSeconds(1)))
        {
            return;
        }

        try
        {
            _gpm.Release();
        }
        finally
        {
            _gpmGate.Exit();
        }
    }

    /// <summary>One value through one NVML call on this GPU's handle.</summary>
    private NvmlResult<T> Read<T>(delegate*<nint, T*, NvmlReturn> read, string call)
        where T : unmanaged
    {
        if (Owner.Closed(call) is { } closed)
        {
            return NvmlResult<T>.Fail(closed);
        }

        T value = default;
        var code = read(Handle, &value);
        return code == NvmlReturn.Success ? NvmlResult<T>.Ok(value) : NvmlErrors.Fail<T>(code, call);
    }

    private static NvmlReturn SmClock(nint device, uint* clock) => NvmlInterop.DeviceGetClockInfo(device, (int)GpuClock.Sm, clock);

    private static NvmlReturn MemoryClock(nint device, uint* clock) => NvmlInterop.DeviceGetClockInfo(device, (int)GpuClock.Memory, clock);

    private static NvmlReturn PcieTransmit(nint device, uint* value) => NvmlInterop.DeviceGetPcieThroughput(device, (int)PcieDirection.Transmit, value);

    private static NvmlReturn PcieReceive(nint device, uint* value) => NvmlInterop.DeviceGetPcieThroughput(device, (int)PcieDirection.Receive, value);

    private static NvmlReturn EncoderUtilization(nint device, uint* percent)
    {
        uint period;
        return NvmlInterop.DeviceGetEncoderUtilization(device, percent, &period);
    }

    private static NvmlReturn DecoderUtilization(nint device, uint* percent)
    {
        uint period;
        return NvmlInterop.DeviceGetDecoderUtilization(device, percent, &period);
    }

    private static NvmlReturn CorrectedEcc(nint device, ulong* count) => NvmlInterop.DeviceGetTotalEccErrors(device, (int)EccErrorKind.Corrected, NvmlInterop.VolatileEcc, count);

    private static NvmlReturn UncorrectedEcc(nint device, ulong* count) => NvmlInterop.DeviceGetTotalEccErrors(device, (int)EccErrorKind.Uncorrected, NvmlInterop.VolatileEcc, count);

    internal void Update(int index, nint handle, string name, string pciBusId, GpuMigInstance? mig = null) =>
        Volatile.Write(ref _identity, new Identity(index, handle, name, pciBusId, mig));

    public override string ToString() => Mig is { } mig
        ? $"MIG {Uuid} ({mig.Profile}, GPU instance {mig.GpuInstanceId}, compute instance {mig.ComputeInstanceId}) of GPU {Index} {mig.ParentUuid}"
        : $"GPU {Index} {Uuid} ({Name}, {PciBusId})";

    /// <summary>
    /// Returns the <paramref name="count"/> records in the buffer, <paramref name="recordBytes"/> apart, reusing the
    /// last array when nothing changed. Every supported record starts with the 24-byte v2 record.
    /// </summary>
    private GpuProcess[] Publish(int count, int recordBytes)
    {
        var records = _processBuffer.AsSpan();
        var last = _lastProcesses;
        var unchanged = last.Length == count;
        for (var i = 0; unchanged && i < count; i++)
        {
            unchanged = last[i] == Read(records, i, recordBytes);
        }

        if (unchanged)
        {
            return last;
        }

        var processes = count == 0 ? [] : new GpuProcess[count];
        for (var i = 0; i < count; i++)
        {
            processes[i] = Read(records, i, recordBytes);
        }

        _lastProcesses = processes;
        return processes;
    }

    private static GpuProcess Read(ReadOnlySpan<byte> records, int index, int recordBytes)
    {
        var info = MemoryMarshal.Read<NvmlProcessInfo>(records.Slice(index * recordBytes, NvmlProcessList.V2RecordBytes));
        return new GpuProcess(info.Pid, NvmlInterop.Known(info.UsedGpuMemory));
    }

    private sealed record Identity(int Index, nint Handle, string Name, string PciBusId, GpuMigInstance? Mig);
}
