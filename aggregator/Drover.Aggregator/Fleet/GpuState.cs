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

/// <summary>One GPU's latest sample, validated at ingest.</summary>
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
    string HealthReason = "");

/// <summary>A node's GPUs as last reported, with when the aggregator received them (its own clock).</summary>
internal sealed record GpuReport(GpuTelemetryState Status, IReadOnlyList<GpuState> Gpus, long ReceivedAt)
{
    public static readonly GpuReport None = new(GpuTelemetryState.Unknown, [], 0);
}
