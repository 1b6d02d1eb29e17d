namespace Drover.Decisions.Scaling;

/// <summary>
/// One usable GPU (healthy, on an eligible node) in placement order: command-queue length ascending,
/// utilization ascending, free memory descending, node priority ascending, node weight descending,
/// then node id and the GPU's index on its node, so that no two GPUs tie and a pass is repeatable.
/// </summary>
internal readonly struct GpuRank
{
    public GpuRank(ScalingNode node, int gpuIndex, ScalingGpu gpu, long memoryFreeBytes)
    {
        Node = node;
        NodeId = node.NodeId;
        GpuIndex = gpuIndex;
        Gpu = gpu;
        CommandQueueLength = gpu.CommandQueueLength;
        UtilizationPercent = gpu.UtilizationPercent;
        MemoryFreeBytes = memoryFreeBytes;
        Priority = node.Priority;
        Weight = node.Weight;
    }

    public ScalingNode Node { get; }

    public string NodeId { get; }

    public int GpuIndex { get; }

    public ScalingGpu Gpu { get; }

    public int CommandQueueLength { get; }

    public int UtilizationPercent { get; }

    /// <summary>Free memory after the starts this pass already placed on the GPU.</summary>
    public long MemoryFreeBytes { get; }

    public int Priority { get; }

    public int Weight { get; }

    /// <summary>The same GPU with <paramref name="bytes"/> less free memory: a start placed on it.</summary>
    public GpuRank Less(long bytes) => new(Node, GpuIndex, Gpu, MemoryFreeBytes - bytes);

    /// <summary>Negative when <paramref name="a"/> ranks better (is placed on first).</summary>
    public static int Compare(in GpuRank a, in GpuRank b)
    {
        if (a.CommandQueueLength != b.CommandQueueLength)
        {
            return a.CommandQueueLength < b.CommandQueueLength ? -1 : 1;
        }

        if (a.UtilizationPercent != b.UtilizationPercent)
        {
            return a.UtilizationPercent < b.UtilizationPercent ? -1 : 1;
        }

        if (a.MemoryFreeBytes != b.MemoryFreeBytes)
        {
            return a.MemoryFreeBytes > b.MemoryFreeBytes ? -1 : 1;
        }

        if (a.Priority != b.Priority)
        {
            return a.Priority < b.Priority ? -1 : 1;
        }

        if (a.Weight != b.Weight)
        {
            return a.Weight > b.Weight ? -1 : 1;
        }

        var byNode = string.CompareOrdinal(a.NodeId, b.NodeId);
        return byNode != 0 ? byNode : a.GpuIndex.CompareTo(b.GpuIndex);
    }
}
