using System.Globalization;
using Drover.Decisions.Scaling;

namespace Drover.Aggregator.Placement;

/// <summary>How a scaling decision reads in the decision log: one line with the numbers, and its inputs as an object.</summary>
internal static class ScalingRecords
{
    /// <summary>How many ranked candidates a record names.</summary>
    public const int CandidatesNamed = 5;

    /// <summary>The queue length, SLO, margin, the formula's result, desired and current, and the top candidates with their ranks.</summary>
    public static string Reason(ScalingDecision decision)
    {
        var line = string.Create(CultureInfo.InvariantCulture,
            $"queue length {decision.QueueLength}, slo {decision.Slo}, margin {decision.Margin}: ceil({decision.QueueLength} / {decision.Slo}) + {decision.Margin} = {decision.Formula}; desired {decision.Desired} within [{decision.MinInstances}, {decision.MaxInstances}], current {decision.Current} ({decision.Starting} starting)");
        var candidates = decision.Candidates.Take(CandidatesNamed).Select(c => string.Create(CultureInfo.InvariantCulture,
            $"#{c.Rank} node '{c.NodeId}' GPU '{c.GpuUuid}' (command queue {c.CommandQueueLength} {SourceName(c.QueueSource)}, utilization {c.UtilizationPercent}%, {c.MemoryFreeBytes} bytes free)")).ToArray();
        return candidates.Length == 0 ? line : $"{line}; candidates: {string.Join(", ", candidates)}";
    }

    /// <summary>Where a candidate's command-queue length came from, as the API names it (<c>commandQueueSource</c>).</summary>
    public static string SourceName(QueueSource source) => source switch
    {
        QueueSource.Measured => "measured",
        QueueSource.Reported => "reported",
        QueueSource.Unknown => "unknown",
        _ => "estimated",
    };

    /// <summary>What changes: starts, stops, shortfall.</summary>
    public static string Outcome(ScalingDecision decision)
    {
        var parts = new List<string>();
        if (decision.Starts.Count > 0)
        {
            parts.Add($"start {decision.Starts.Count} on {string.Join(", ", decision.Starts.Select(s => $"'{s.NodeId}'"))}");
        }

        if (decision.Stops.Count > 0)
        {
            parts.Add($"stop {decision.Stops.Count} on {string.Join(", ", decision.Stops.Select(s => $"'{s.NodeId}'"))}, busiest first");
        }

        if (decision.Shortfall > 0)
        {
            parts.Add($"shortfall {decision.Shortfall}: no eligible node without an instance has a healthy GPU with the memory");
        }

        return parts.Count == 0 ? decision.Reason : string.Join("; ", parts);
    }

    /// <summary>The decision's inputs, for <see cref="DecisionRecord.Inputs"/>.</summary>
    public static object Inputs(ScalingDecision decision) => new
    {
        queueLength = decision.QueueLength,
        slo = decision.Slo,
        margin = decision.Margin,
        minInstances = decision.MinInstances,
        maxInstances = decision.MaxInstances,
        formula = decision.Formula,
        desired = decision.Desired,
        current = decision.Current,
        starting = decision.Starting,
        shortfall = decision.Shortfall,
        decision = decision.Reason,
        candidates = decision.Candidates.Select(c => new
        {
            rank = c.Rank,
            nodeId = c.NodeId,
            gpuUuid = c.GpuUuid,
            commandQueueLength = c.CommandQueueLength,
            commandQueueSource = SourceName(c.QueueSource),
            utilizationPercent = c.UtilizationPercent,
            memoryFreeBytes = c.MemoryFreeBytes,
            priority = c.Priority,
            weight = c.Weight,
        }).ToArray(),
    };
}
