using Drover.Aggregator.Fleet;

namespace Drover.Aggregator.Api;

/// <summary>
/// One GPU as <c>GET /v1/nodes/{nodeId}/gpus</c> shows it (camelCase JSON). A MIG instance is listed as a GPU of
/// its own, with <c>mig</c> set; <c>mig</c> is null for a whole GPU.
/// </summary>
internal sealed record GpuResponse(
    int Index,
    string Uuid,
    string Name,
    string PciBusId,
    ulong MemoryTotalBytes,
    ulong MemoryUsedBytes,
    ulong MemoryFreeBytes,
    uint UtilizationGpuPercent,
    uint UtilizationMemoryPercent,
    uint TemperatureC,
    uint PowerMilliwatts,
    bool MigEnabled,
    GpuMigResponse? Mig,
    string Health,
    string HealthReason,
    uint Xid,
    double CommandQueueLength,
    string CommandQueueSource,
    uint CommandQueueAgeMs,
    long SampleAgeMs,
    IReadOnlyList<GpuProcessResponse> Processes,
    IReadOnlyList<string> UnavailableFields,
    ulong MemoryReservedBytes,
    uint SmClockMhz,
    uint MemoryClockMhz,
    IReadOnlyList<string> ClockEventReasons,
    ulong EnergyMillijoules,
    uint PcieTxKilobytesPerSecond,
    uint PcieRxKilobytesPerSecond,
    uint PcieReplays,
    uint EncoderUtilizationPercent,
    uint DecoderUtilizationPercent,
    ulong EccCorrectedErrors,
    ulong EccUncorrectedErrors,
    RemappedRowsResponse RemappedRows,
    uint MemoryTemperatureC,
    double GraphicsActivityPercent,
    double SmActivityPercent,
    double SmOccupancyPercent)
{
    /// <summary>The node's GPUs, ordered by index; sample age on the aggregator's clock.</summary>
    public static IEnumerable<GpuResponse> From(NodeView node)
    {
        var age = (long)(node.SinceTelemetry ?? TimeSpan.Zero).TotalMilliseconds;
        return node.Gpus.Gpus.OrderBy(g => g.Index).Select(g => From(g, g.Counters ?? NoCounters, age));
    }

    private static GpuResponse From(GpuState g, GpuCounters c, long age) => new(
        g.Index,
        g.Uuid,
        g.Name,
        g.PciBusId,
        g.MemoryTotalBytes,
        g.MemoryUsedBytes,
        g.MemoryFreeBytes,
        g.UtilizationGpuPercent,
        g.UtilizationMemoryPercent,
        g.TemperatureC,
        g.PowerMilliwatts,
        g.MigEnabled,
        g.Mig is { } mig ? new GpuMigResponse(mig.ParentUuid, mig.Profile, mig.GpuInstanceId, mig.ComputeInstanceId) : null,
        HealthName(g.Health),
        g.HealthReason,
        g.Xid,
        g.CommandQueueLength,
        g.CommandQueueSource,
        g.CommandQueueAgeMs,
        age,
        g.Processes.Select(p => new GpuProcessResponse(p.Pid, p.UsedMemoryBytes)).ToArray(),
        g.UnavailableFields,
        c.MemoryReservedBytes,
        c.SmClockMhz,
        c.MemoryClockMhz,
        c.ClockEventReasonNames(),
        c.EnergyMillijoules,
        c.PcieTxKilobytesPerSecond,
        c.PcieRxKilobytesPerSecond,
        c.PcieReplays,
        c.EncoderUtilizationPercent,
        c.DecoderUtilizationPercent,
        c.EccCorrectedErrors,
        c.EccUncorrectedErrors,
        new RemappedRowsResponse(c.RemappedRowsCorrected, c.RemappedRowsUncorrected, c.RemapPending, c.RemapFailure),
        c.MemoryTemperatureC,
        c.GraphicsActivityPercent,
        c.SmActivityPercent,
        c.SmOccupancyPercent);

    /// <summary>What an agent older than the operators' fields reported of them: nothing.</summary>
    private static readonly GpuCounters NoCounters = new(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false, false);

    /// <summary><c>ok</c>, <c>degraded</c>, <c>unhealthy</c>, <c>lost</c> or <c>unavailable</c>.</summary>
    public static string HealthName(GpuHealthState health) => health switch
    {
        GpuHealthState.Ok => "ok",
        GpuHealthState.Degraded => "degraded",
        GpuHealthState.Unhealthy => "unhealthy",
        GpuHealthState.Unavailable => "unavailable",
        _ => "lost",
    };
}

/// <summary>Row remapping: rows remapped for correctable and uncorrectable errors, a remap waiting for a reset, a remap that failed.</summary>
internal sealed record RemappedRowsResponse(uint Corrected, uint Uncorrected, bool Pending, bool Failure);

/// <summary>One compute process on a GPU; <paramref name="UsedMemoryBytes"/> is null when NVML could not tell.</summary>
internal sealed record GpuProcessResponse(uint Pid, ulong? UsedMemoryBytes);

/// <summary>What makes a GPU a MIG instance: the whole GPU it is carved from, its profile ("" when unknown), and NVML's GPU and compute instance ids.</summary>
internal sealed record GpuMigResponse(string ParentUuid, string Profile, uint GpuInstanceId, uint ComputeInstanceId);
