using Drover.Aggregator.Fleet;

namespace Drover.Aggregator.Api;

/// <summary>One GPU as <c>GET /v1/nodes/{nodeId}/gpus</c> shows it (camelCase JSON).</summary>
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
    string Health,
    string HealthReason,
    uint Xid,
    double CommandQueueLength,
    string CommandQueueSource,
    long SampleAgeMs,
    IReadOnlyList<GpuProcessResponse> Processes,
    IReadOnlyList<string> UnavailableFields)
{
    /// <summary>The node's GPUs, ordered by index; sample age on the aggregator's clock.</summary>
    public static IEnumerable<GpuResponse> From(NodeView node)
    {
        var age = (long)(node.SinceTelemetry ?? TimeSpan.Zero).TotalMilliseconds;
        return node.Gpus.Gpus.OrderBy(g => g.Index).Select(g => new GpuResponse(
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
            HealthName(g.Health),
            g.HealthReason,
            g.Xid,
            g.CommandQueueLength,
            g.CommandQueueSource,
            age,
            g.Processes.Select(p => new GpuProcessResponse(p.Pid, p.UsedMemoryBytes)).ToArray(),
            g.UnavailableFields));
    }

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

/// <summary>One compute process on a GPU; <paramref name="UsedMemoryBytes"/> is null when NVML could not tell.</summary>
internal sealed record GpuProcessResponse(uint Pid, ulong? UsedMemoryBytes);
