namespace Drover.Decisions.Scaling;

/// <summary>
/// One usable GPU (healthy, on an eligible node) as placement orders it, packed into three unsigned
/// keys so that most comparisons are one or two integer compares: degraded after sound, a GPU whose
/// queue is unknown after those whose queue is known, then command-queue length ascending (to a
/// thousandth, so an estimate of 0.2 is not a queued kernel), a measured queue before an estimated one
/// of the same length, utilization ascending, free memory descending, node priority ascending and weight descending; then
/// node id and the GPU's index on its node (see <see cref="GpuRanking.Compare"/>), so that no two GPUs
/// tie and a pass is repeatable. No references inside: moving one costs no GC write barrier.
/// </summary>
internal readonly struct GpuRank
{
    private readonly ulong _load;
    private readonly ulong _memory;
    private readonly ulong _node;

    public GpuRank(ScalingNode node, int nodeIndex, ScalingGpu gpu, int gpuIndex, long memoryFreeBytes)
    {
        _load = LoadKey(gpu);
        _memory = MemoryKey(memoryFreeBytes);
        _node = ((ulong)((uint)node.Priority ^ 0x8000_0000u) << 32) | ~((uint)node.Weight ^ 0x8000_0000u);
        NodeIndex = nodeIndex;
        GpuIndex = gpuIndex;
    }

    private GpuRank(in GpuRank rank, long memoryFreeBytes)
    {
        _load = rank._load;
        _memory = MemoryKey(memoryFreeBytes);
        _node = rank._node;
        NodeIndex = rank.NodeIndex;
        GpuIndex = rank.GpuIndex;
    }

    /// <summary>Degraded or not, command-queue length, then utilization: the first key, ascending.</summary>
    public ulong Load => _load;

    /// <summary>Free memory, descending: the second key, ascending.</summary>
    public ulong Memory => _memory;

    /// <summary>The node's position in the snapshot.</summary>
    public int NodeIndex { get; }

    /// <summary>The GPU's position on its node.</summary>
    public int GpuIndex { get; }

    /// <summary>Free memory after the starts this pass already placed on the GPU.</summary>
    public long MemoryFreeBytes => long.MaxValue - (long)_memory;

    /// <summary>The same GPU with <paramref name="bytes"/> less free memory: a start placed on it.</summary>
    public GpuRank Less(long bytes) => new(this, MemoryFreeBytes - bytes);

    /// <summary>
    /// The first key of a GPU, without building its rank: what most GPUs of a sweep are turned away on.
    /// Bit 63 is <see cref="ScalingGpu.Degraded"/>, so a degraded GPU ranks after every sound one however
    /// idle it looks; bit 62 an unknown queue; bits 31-61 the queue in thousandths (at most about two
    /// million queued); bit 30 an estimated queue; bits 0-29 the utilization.
    /// </summary>
    public static ulong LoadKey(ScalingGpu gpu)
        => (gpu.Degraded ? DegradedBit : 0)
            | (gpu.QueueSource == QueueSource.Unknown ? UnknownQueueBit : 0)
            | (QueueThousandths(gpu.CommandQueueLength) << 31)
            | (gpu.QueueSource == QueueSource.Estimated ? EstimatedQueueBit : 0)
            | (uint)Math.Clamp(gpu.UtilizationPercent, 0, (1 << 30) - 1);

    private const ulong DegradedBit = 1UL << 63;
    private const ulong UnknownQueueBit = 1UL << 62;
    private const ulong EstimatedQueueBit = 1UL << 30;
    private const ulong MaxQueueThousandths = (1UL << 31) - 1;

    /// <summary>A queue length in thousandths, rounded to the nearest, within 31 bits; NaN and negatives count 0.</summary>
    private static ulong QueueThousandths(double length)
        => length > 0 ? (ulong)Math.Min(Math.Round(length * 1000), MaxQueueThousandths) : 0;

    /// <summary>The second key for <paramref name="memoryFreeBytes"/> free.</summary>
    public static ulong MemoryKey(long memoryFreeBytes) => (ulong)(long.MaxValue - Math.Max(0, memoryFreeBytes));

    /// <summary>The comparison of the packed keys only: zero leaves it to node id and GPU index.</summary>
    public static int CompareKeys(in GpuRank a, in GpuRank b)
    {
        if (a._load != b._load)
        {
            return a._load < b._load ? -1 : 1;
        }

        if (a._memory != b._memory)
        {
            return a._memory < b._memory ? -1 : 1;
        }

        return a._node == b._node ? 0 : a._node < b._node ? -1 : 1;
    }
}
