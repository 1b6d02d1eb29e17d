namespace Drover.Aggregator.Fleet;

/// <summary>Whether a node can read its GPUs.</summary>
internal sealed record GpuTelemetryState(bool Available, string Reason, string DriverVersion)
{
    public static readonly GpuTelemetryState Unknown = new(false, "no telemetry received yet", "");

    /// <summary>"available", or "unavailable (reason)": how the API shows it.</summary>
    public string Display => Available ? "available" : $"unavailable ({Reason})";
}

/// <summary>The health of one GPU as its agent reports it (the agent's GpuHealthTable decides it).</summary>
internal enum GpuHealthState
{
    /// <summary>Sound; an application XID may be recorded.</summary>
    Ok,

    /// <summary>Placeable, ranked after every ok GPU.</summary>
    Degraded,

    /// <summary>Never placed on: a reset required, NVML errors, a hardware XID (or any XID from an older agent).</summary>
    Unhealthy,

    /// <summary>NVML says it is lost, or it is gone from the enumeration; never placed on.</summary>
    Lost,

    /// <summary>Its agent's NVML is being initialised again (or cannot be): nothing known now; never placed on, not lost.</summary>
    Unavailable,
}

/// <summary>One compute process on a GPU; <paramref name="UsedMemoryBytes"/> is null when NVML could not tell.</summary>
internal readonly record struct GpuProcessState(uint Pid, ulong? UsedMemoryBytes);

/// <summary>One GPU's latest sample, validated at ingest; <c>Mig</c> is set for a MIG instance, null for a whole GPU.</summary>
internal sealed record GpuState(
    int Index,
    string Uuid,
    string Name,
    string PciBusId,
    GpuHealthState Health,
    uint Xid,
    ulong MemoryTotalBytes,
    ulong MemoryUsedBytes,
    ulong MemoryFreeBytes,
    uint UtilizationGpuPercent,
    uint UtilizationMemoryPercent,
    uint TemperatureC,
    uint PowerMilliwatts,
    bool MigEnabled,
    double CommandQueueLength,
    string CommandQueueSource,
    IReadOnlyList<GpuProcessState> Processes,
    IReadOnlyList<string> UnavailableFields,
    string HealthReason = "",
    uint CommandQueueAgeMs = 0,
    GpuCounters? Counters = null,
    GpuMig? Mig = null);

/// <summary>
/// What makes a GPU a MIG instance: the whole GPU it is carved from, its profile, and how NVML names it. A MIG
/// instance is placed on as a GPU of its own; the GPU it is carved from (<see cref="GpuState.MigEnabled"/>) is not.
/// </summary>
/// <param name="ParentUuid">The UUID of the whole GPU it is carved from, another GPU of the same node.</param>
/// <param name="Profile">Its profile ("1g.10gb"); empty when the driver's name for it has none.</param>
/// <param name="GpuInstanceId">Its GPU instance id on its parent.</param>
/// <param name="ComputeInstanceId">Its compute instance id within that GPU instance.</param>
internal sealed record GpuMig(string ParentUuid, string Profile, uint GpuInstanceId, uint ComputeInstanceId);

/// <summary>
/// The fields operators read beside load and health (dcgm-exporter's defaults): reserved memory, clocks and why
/// they are held back, energy, PCIe, video engines, ECC and row remapping, the memory temperature, and GPM's measured
/// activity (graphics, SM activity, SM occupancy, percent; Hopper and later). A field the GPU does not support is 0
/// here and named in <see cref="GpuState.UnavailableFields"/>.
/// </summary>
internal sealed record GpuCounters(
    ulong MemoryReservedBytes,
    uint SmClockMhz,
    uint MemoryClockMhz,
    ulong ClockEventReasons,
    ulong EnergyMillijoules,
    uint PcieTxKilobytesPerSecond,
    uint PcieRxKilobytesPerSecond,
    uint PcieReplays,
    uint EncoderUtilizationPercent,
    uint DecoderUtilizationPercent,
    ulong EccCorrectedErrors,
    ulong EccUncorrectedErrors,
    uint RemappedRowsCorrected,
    uint RemappedRowsUncorrected,
    bool RemapPending,
    bool RemapFailure,
    uint MemoryTemperatureC = 0,
    double GraphicsActivityPercent = 0,
    double SmActivityPercent = 0,
    double SmOccupancyPercent = 0)
{
    /// <summary>The nvmlClocksEventReason* bits by the names the API shows.</summary>
    private static readonly (ulong Bit, string Name)[] ReasonNames =
    [
        (0x1, "gpuIdle"),
        (0x2, "applicationsClocksSetting"),
        (0x4, "swPowerCap"),
        (0x8, "hwSlowdown"),
        (0x10, "syncBoost"),
        (0x20, "swThermalSlowdown"),
        (0x40, "hwThermalSlowdown"),
        (0x80, "hwPowerBrakeSlowdown"),
        (0x100, "displayClockSetting"),
    ];

    /// <summary>The clock event reasons set, by name; an unknown bit as its hex value.</summary>
    public IReadOnlyList<string> ClockEventReasonNames()
    {
        var names = new List<string>();
        var left = ClockEventReasons;
        foreach (var (bit, name) in ReasonNames)
        {
            if ((left & bit) != 0)
            {
                names.Add(name);
                left &= ~bit;
            }
        }

        for (var bit = 1UL; left != 0; bit <<= 1)
        {
            if ((left & bit) != 0)
            {
                names.Add($"0x{bit:x}");
                left &= ~bit;
            }
        }

        return names;
    }
}

/// <summary>A node's GPUs as last reported, with when the aggregator received them (its own clock).</summary>
internal sealed record GpuReport(GpuTelemetryState Status, IReadOnlyList<GpuState> Gpus, long ReceivedAt)
{
    public static readonly GpuReport None = new(GpuTelemetryState.Unknown, [], 0);
}
