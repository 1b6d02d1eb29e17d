using Drover.Aggregator.Fleet;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Link;

/// <summary>
/// Checks telemetry where it enters and turns it into the fleet state's own types. Every list and
/// string a peer chooses is bounded; a bad message is refused whole, with the field named.
/// </summary>
internal static class TelemetryValidator
{
    /// <summary>64 GPUs with 7 MIG instances each, and the GPUs themselves.</summary>
    public const int MaxGpus = 512;
    public const int MaxProcesses = 1024;
    public const int MaxUuidLength = 96;
    public const int MaxNameLength = 96;
    public const int MaxPciBusIdLength = 32;
    public const int MaxReasonLength = 512;
    public const int MaxDriverVersionLength = 80;
    public const int MaxUnavailableFields = 32;
    public const int MaxHealthReasonLength = 256;
    public const int MaxMigProfileLength = 32;

    /// <summary>
    /// The fleet state's health of a GPU. XID is what agents older than the health model send for any
    /// XID seen recently: it is read as unhealthy, as they meant it (those agents took the GPU out).
    /// </summary>
    internal static GpuHealthState? Health(GpuHealth health) => health switch
    {
        GpuHealth.Ok => GpuHealthState.Ok,
        GpuHealth.Degraded => GpuHealthState.Degraded,
        GpuHealth.Unhealthy or GpuHealth.Xid => GpuHealthState.Unhealthy,
        GpuHealth.Lost => GpuHealthState.Lost,
        GpuHealth.Unavailable => GpuHealthState.Unavailable,
        _ => null,
    };

    public static (GpuTelemetryState? Status, string? Error) Status(GpuTelemetryStatus? status, string field)
    {
        if (status is null)
        {
            return (GpuTelemetryState.Unknown, null);
        }

        if (status.Reason.Length > MaxReasonLength)
        {
            return (null, $"{field}.reason is {status.Reason.Length} characters; expected at most {MaxReasonLength}");
        }

        if (status.DriverVersion.Length > MaxDriverVersionLength)
        {
            return (null, $"{field}.driverVersion is {status.DriverVersion.Length} characters; expected at most {MaxDriverVersionLength}");
        }

        return (new GpuTelemetryState(status.Available, status.Reason, status.DriverVersion), null);
    }

    /// <summary>
    /// Validates an inventory (Hello) or a sample list (Telemetry) size and GPU identities. A MIG instance names
    /// its parent, which must be a whole GPU of the same list: placement skips a MIG-enabled GPU for its
    /// instances, so an instance whose GPU is unknown, or an instance of an instance, would make no sense of it.
    /// </summary>
    public static string? Inventory(IReadOnlyCollection<GpuInfo> gpus, string field)
    {
        if (gpus.Count > MaxGpus)
        {
            return $"{field} has {gpus.Count} GPUs; expected at most {MaxGpus}";
        }

        // Each GPU's parent ("" for a whole GPU), to check the parents once every entry is known.
        var seen = new Dictionary<string, string>(gpus.Count, StringComparer.Ordinal);
        foreach (var gpu in gpus)
        {
            if (gpu.Uuid.Length is 0 or > MaxUuidLength)
            {
                return $"{field}.uuid = '{Truncate(gpu.Uuid)}'; expected 1-{MaxUuidLength} characters";
            }

            if (!seen.TryAdd(gpu.Uuid, gpu.ParentUuid))
            {
                return $"{field}.uuid = '{gpu.Uuid}' appears twice; expected one entry per GPU";
            }

            if (gpu.Name.Length > MaxNameLength || gpu.PciBusId.Length > MaxPciBusIdLength)
            {
                return $"{field} of GPU '{gpu.Uuid}': name or pciBusId too long; expected at most {MaxNameLength} and {MaxPciBusIdLength} characters";
            }

            if (gpu.MigProfile.Length > MaxMigProfileLength || !gpu.MigProfile.All(c => c is > ' ' and <= '~'))
            {
                return $"{field}.migProfile of GPU '{gpu.Uuid}' = '{Truncate(gpu.MigProfile)}'; expected at most {MaxMigProfileLength} characters of printable ASCII without spaces";
            }

            if (gpu.ParentUuid.Length > MaxUuidLength)
            {
                return $"{field}.parentUuid of GPU '{gpu.Uuid}' is {gpu.ParentUuid.Length} characters; expected at most {MaxUuidLength}";
            }

            if (gpu.ParentUuid == gpu.Uuid)
            {
                return $"{field}.parentUuid of GPU '{gpu.Uuid}' is its own uuid; expected the uuid of the whole GPU the MIG instance is carved from, or empty for a whole GPU";
            }
        }

        foreach (var gpu in gpus)
        {
            if (gpu.ParentUuid.Length > 0 && !(seen.TryGetValue(gpu.ParentUuid, out var grandparent) && grandparent.Length == 0))
            {
                return $"{field}.parentUuid of GPU '{gpu.Uuid}' = '{gpu.ParentUuid}' names no whole GPU of this node; expected the uuid of another entry of {field} without a parentUuid";
            }
        }

        return null;
    }

    /// <summary>A MIG instance's identity from its (validated) GpuInfo; null for a whole GPU.</summary>
    internal static GpuMig? Mig(GpuInfo gpu)
        => gpu.ParentUuid.Length == 0 ? null : new GpuMig(gpu.ParentUuid, gpu.MigProfile, gpu.GpuInstanceId, gpu.ComputeInstanceId);

    public static (GpuReport? Report, string? Error) Telemetry(Telemetry telemetry, long receivedAt)
    {
        var (status, statusError) = Status(telemetry.Status, "telemetry.status");
        if (statusError is not null)
        {
            return (null, statusError);
        }

        var inventoryError = Inventory(telemetry.Gpus.Select(g => g.Gpu ?? new GpuInfo()).ToList(), "telemetry.gpus");
        if (inventoryError is not null)
        {
            return (null, inventoryError);
        }

        var gpus = new List<GpuState>(telemetry.Gpus.Count);
        foreach (var sample in telemetry.Gpus)
        {
            var uuid = sample.Gpu.Uuid;
            if (sample.Processes.Count > MaxProcesses)
            {
                return (null, $"telemetry.gpus.processes of GPU '{uuid}' has {sample.Processes.Count} entries; expected at most {MaxProcesses}");
            }

            if (sample.UnavailableFields.Count > MaxUnavailableFields || sample.UnavailableFields.Any(f => f.Length > 64))
            {
                return (null, $"telemetry.gpus.unavailableFields of GPU '{uuid}' is too long; expected at most {MaxUnavailableFields} names of at most 64 characters");
            }

            if (sample.UtilizationGpuPercent > 100 || sample.UtilizationMemoryPercent > 100)
            {
                return (null, $"telemetry.gpus.utilization of GPU '{uuid}' = {sample.UtilizationGpuPercent}/{sample.UtilizationMemoryPercent}; expected 0-100");
            }

            if (double.IsNaN(sample.CommandQueueLength) || double.IsInfinity(sample.CommandQueueLength) || sample.CommandQueueLength < 0)
            {
                return (null, $"telemetry.gpus.commandQueueLength of GPU '{uuid}' = {sample.CommandQueueLength}; expected a finite number >= 0");
            }

            var health = Health(sample.Health);
            if (health is null)
            {
                return (null, $"telemetry.gpus.health of GPU '{uuid}' is {(sample.Health == GpuHealth.Unspecified ? "unspecified" : ((int)sample.Health).ToString(System.Globalization.CultureInfo.InvariantCulture))}; expected ok, degraded, unhealthy, lost, unavailable or xid");
            }

            if (sample.HealthReason.Length > MaxHealthReasonLength)
            {
                return (null, $"telemetry.gpus.healthReason of GPU '{uuid}' is {sample.HealthReason.Length} characters; expected at most {MaxHealthReasonLength}");
            }

            // An agent older than the health model sends XID for any critical event it saw recently, with no reason.
            var healthReason = sample.Health == GpuHealth.Xid && sample.HealthReason.Length == 0
                ? $"XID {sample.Xid} (reported by an agent without the health model, which takes a GPU out for any XID)"
                : sample.HealthReason;

            gpus.Add(new GpuState(
                (int)sample.Gpu.Index,
                uuid,
                sample.Gpu.Name,
                sample.Gpu.PciBusId,
                health.Value,
                sample.Xid,
                sample.MemoryTotalBytes,
                sample.MemoryUsedBytes,
                sample.MemoryFreeBytes,
                sample.UtilizationGpuPercent,
                sample.UtilizationMemoryPercent,
                sample.TemperatureC,
                sample.PowerMilliwatts,
                sample.MigEnabled,
                sample.CommandQueueLength,
                sample.CommandQueueSource switch
                {
                    CommandQueueSource.Measured => "measured",
                    CommandQueueSource.Reported => "reported",
                    CommandQueueSource.Unknown => "unknown",
                    _ => "estimated",
                },
                sample.Processes.Select(p => new GpuProcessState(p.Pid, UsedMemory(p))).ToArray(),
                sample.UnavailableFields.ToArray(),
                healthReason,
                sample.CommandQueueAgeMs,
                new GpuCounters(
                    sample.MemoryReservedBytes,
                    sample.SmClockMhz,
                    sample.MemoryClockMhz,
                    sample.ClockEventReasons,
                    sample.EnergyMillijoules,
                    sample.PcieTxKilobytesPerSecond,
                    sample.PcieRxKilobytesPerSecond,
                    sample.PcieReplays,
                    Math.Min(sample.EncoderUtilizationPercent, 100),
                    Math.Min(sample.DecoderUtilizationPercent, 100),
                    sample.EccCorrectedErrors,
                    sample.EccUncorrectedErrors,
                    sample.RemappedRowsCorrected,
                    sample.RemappedRowsUncorrected,
                    sample.RemapPending,
                    sample.RemapFailure,
                    sample.MemoryTemperatureC,
                    Percent(sample.GraphicsActivityPercent),
                    Percent(sample.SmActivityPercent),
                    Percent(sample.SmOccupancyPercent)),
                Mig(sample.Gpu)));
        }

        return (new GpuReport(status!, gpus, receivedAt), null);
    }

    /// <summary>
    /// The process's memory, or null when the agent could not tell: the field absent, or NVML_VALUE_NOT_AVAILABLE
    /// (all ones) from agents that passed it through before the field became optional.
    /// </summary>
    private static ulong? UsedMemory(GpuProcess process) =>
        process.HasUsedMemoryBytes && process.UsedMemoryBytes != ulong.MaxValue ? process.UsedMemoryBytes : null;

    /// <summary>A GPM percentage held to 0-100; NaN or infinite (never sent by a correct agent) reads 0.</summary>
    private static double Percent(double value) => double.IsFinite(value) ? Math.Clamp(value, 0, 100) : 0;

    private static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "...";
}
