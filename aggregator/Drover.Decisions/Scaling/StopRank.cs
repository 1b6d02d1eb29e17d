namespace Drover.Decisions.Scaling;

/// <summary>
/// An instance in removal order, worst first: on an unknown or lost GPU, then on a node no longer
/// eligible, then on a degraded GPU (placement's last choice, so scale-down's first), then by its GPU
/// in the reverse of placement order (longest command queue, highest
/// utilization, least free memory, highest priority, lowest weight); among GPUs ranked equally, the
/// instance with the fewest requests in flight, so the drain is short; then node id and instance id.
/// </summary>
internal readonly struct StopRank
{
    private const int GpuLost = 0;
    private const int NodeNotEligible = 1;
    private const int GpuDegraded = 2;
    private const int Usable = 3;

    private StopRank(int tier, ScalingGpu? gpu, ScalingNode? node, ScalingInstance instance)
    {
        Tier = tier;
        CommandQueueLength = gpu?.CommandQueueLength ?? 0;
        UtilizationPercent = gpu?.UtilizationPercent ?? 0;
        MemoryFreeBytes = gpu?.MemoryFreeBytes ?? 0;
        Priority = node?.Priority ?? 0;
        Weight = node?.Weight ?? 0;
        InFlight = instance.InFlight;
        NodeId = instance.NodeId;
        InstanceId = instance.InstanceId;
    }

    public int Tier { get; }

    public double CommandQueueLength { get; }

    public int UtilizationPercent { get; }

    public long MemoryFreeBytes { get; }

    public int Priority { get; }

    public int Weight { get; }

    public int InFlight { get; }

    public string NodeId { get; }

    public string InstanceId { get; }

    public static StopRank Of(ScalingInstance instance, Dictionary<string, ScalingNode> nodes)
    {
        if (!nodes.TryGetValue(instance.NodeId, out var node))
        {
            return new StopRank(GpuLost, null, null, instance);
        }

        ScalingGpu? gpu = null;
        if (instance.GpuUuid is { } uuid)
        {
            var gpus = node.Gpus;
            for (var g = 0; g < gpus.Count && gpu is null; g++)
            {
                gpu = string.Equals(gpus[g].Uuid, uuid, StringComparison.Ordinal) ? gpus[g] : null;
            }
        }

        var tier = gpu is not { Healthy: true } ? GpuLost : !node.Eligible ? NodeNotEligible : gpu.Degraded ? GpuDegraded : Usable;
        return new StopRank(tier, tier == GpuLost ? null : gpu, node, instance);
    }

    /// <summary>Negative when <paramref name="a"/> stops first.</summary>
    public static int Compare(in StopRank a, in StopRank b)
    {
        if (a.Tier != b.Tier)
        {
            return a.Tier.CompareTo(b.Tier);
        }

        if (a.CommandQueueLength != b.CommandQueueLength)
        {
            return b.CommandQueueLength.CompareTo(a.CommandQueueLength);
        }

        if (a.UtilizationPercent != b.UtilizationPercent)
        {
            return b.UtilizationPercent.CompareTo(a.UtilizationPercent);
        }

        if (a.MemoryFreeBytes != b.MemoryFreeBytes)
        {
            return a.MemoryFreeBytes.CompareTo(b.MemoryFreeBytes);
        }

        if (a.Priority != b.Priority)
        {
            return b.Priority.CompareTo(a.Priority);
        }

        if (a.Weight != b.Weight)
        {
            return a.Weight.CompareTo(b.Weight);
        }

        if (a.InFlight != b.InFlight)
        {
            return a.InFlight.CompareTo(b.InFlight);
        }

        var byNode = string.CompareOrdinal(b.NodeId, a.NodeId);
        return byNode != 0 ? byNode : string.CompareOrdinal(a.InstanceId, b.InstanceId);
    }
}
