using System.Buffers;

namespace Drover.Decisions.Scaling;

/// <summary>
/// The usable GPUs of one pass (healthy, on an eligible node) in placement order, sorted only as far
/// as the pass reads. One sweep keeps the best few hundred (a quickselect over a buffer; most GPUs are
/// turned away by one integer compare) and sorts them; only a pass that reads past them ranks the
/// rest, in a heap built in linear time that feeds the sorted list on demand. A start placed on a GPU takes its
/// memory: the GPU leaves its place (a tombstone, so nothing shifts) and joins a short sorted list of
/// moved GPUs where its smaller free memory puts it; a read merges the two, so later starts of the
/// same pass see what is left.
/// </summary>
/// <remarks>
/// Invariant: every GPU of the sorted list and of the moved list ranks before every GPU in neither
/// (those past the selection's boundary: in the heap once it is built, else still in the snapshot or
/// set aside).
/// </remarks>
internal sealed class GpuRanking : IDisposable
{
    /// <summary>Where <see cref="Next"/> says a GPU from the moved list lies.</summary>
    public const int Moved = -1;

    private const int Nowhere = -2;

    private readonly ScalingNode[] _nodes;

    private readonly List<GpuRank> _sorted;

    /// <summary>Per place in <see cref="_sorted"/>: a start took memory of it and it moved to <see cref="_moved"/> (or further).</summary>
    private readonly List<bool> _taken;

    /// <summary>GPUs whose memory a start took, in placement order.</summary>
    private readonly List<GpuRank> _moved = [];

    /// <summary>The worst GPU the first sweep kept; null when it kept them all.</summary>
    private readonly GpuRank? _boundary;

    /// <summary>GPUs whose start moved them past the boundary before the rest was ranked.</summary>
    private readonly List<GpuRank> _setAside = [];

    private GpuRank[]? _heap;
    private int _heapCount;

    private GpuRanking(IReadOnlyList<ScalingNode> nodes, int keep)
    {
        _nodes = Lists.Array(nodes);

        // Usable GPUs go into a buffer of twice the selection; when it fills, a quickselect keeps the best
        // half, and the worst kept becomes the bar the rest of the sweep must pass. Most GPUs fail it on
        // their first key, and those that pass cost a copy, not a heap's log(n) moves.
        var buffer = new GpuRank[2 * keep];
        var count = 0;
        var usable = 0;
        var maxFree = 0L;
        GpuRank? bar = null;
        ulong barLoad = ulong.MaxValue, barMemory = ulong.MaxValue;
        var scratch = System.Array.Empty<ScalingGpu>();
        var all = _nodes.AsSpan();
        for (var n = 0; n < all.Length; n++)
        {
            var node = all[n];
            if (!node.Eligible)
            {
                continue;
            }

            var gpus = Lists.Span(node.Gpus, ref scratch);
            for (var g = 0; g < gpus.Length; g++)
            {
                var gpu = gpus[g];
                if (!gpu.Healthy)
                {
                    continue;
                }

                usable++;
                var free = gpu.MemoryFreeBytes;
                maxFree = Math.Max(maxFree, free);
                var load = GpuRank.LoadKey(gpu);
                if (load > barLoad || (load == barLoad && GpuRank.MemoryKey(free) > barMemory))
                {
                    continue;
                }

                var rank = new GpuRank(node, n, gpu, g, free);
                if (bar is { } worst && Compare(rank, worst) > 0)
                {
                    continue;
                }

                buffer[count++] = rank;
                if (count == buffer.Length)
                {
                    Select(buffer.AsSpan(0, count), keep - 1);
                    count = keep;
                    bar = buffer[keep - 1];
                    (barLoad, barMemory) = (buffer[keep - 1].Load, buffer[keep - 1].Memory);
                }
            }
        }

        MaxMemoryFreeBytes = maxFree;
        if (count > keep)
        {
            Select(buffer.AsSpan(0, count), keep - 1);
            count = keep;
        }

        if (usable > count)
        {
            // The worst kept: the quickselect left it at the end of the kept ones.
            _boundary = buffer[count - 1];
        }

        buffer.AsSpan(0, count).Sort(new Comparer(this));
        _sorted = new List<GpuRank>(count + 16);
        _taken = new List<bool>(count + 16);
        for (var i = 0; i < count; i++)
        {
            _sorted.Add(buffer[i]);
            _taken.Add(false);
        }
    }

    /// <summary>The most free memory of any usable GPU before this pass's starts: no start needing more can be placed.</summary>
    public long MaxMemoryFreeBytes { get; }

    /// <summary>Ranks the healthy GPUs of the eligible nodes, sorting at first the best <paramref name="keep"/> of them.</summary>
    public static GpuRanking Of(IReadOnlyList<ScalingNode> nodes, int keep) => new(nodes, Math.Max(1, keep));

    /// <summary>The node of a GPU.</summary>
    public ScalingNode Node(in GpuRank rank) => _nodes[rank.NodeIndex];

    /// <summary>The GPU's record in the snapshot.</summary>
    public ScalingGpu Gpu(in GpuRank rank) => _nodes[rank.NodeIndex].Gpus[rank.GpuIndex];

    /// <summary>
    /// The next GPU in placement order after <paramref name="cursor"/> (a default cursor starts at the
    /// best); false past the last. <paramref name="place"/> says where it lies, for <see cref="Consume"/>.
    /// </summary>
    public bool Next(ref GpuCursor cursor, out GpuRank rank, out int place)
    {
        while (true)
        {
            // Moved GPUs rank before all that are not read yet: the sorted list grows only once both are read out.
            if (cursor.Sorted >= _sorted.Count && cursor.Moved >= _moved.Count)
            {
                Extend();
            }

            if (cursor.Sorted < _sorted.Count && _taken[cursor.Sorted])
            {
                cursor.Sorted++;
                continue;
            }

            var fromSorted = cursor.Sorted < _sorted.Count;
            var fromMoved = cursor.Moved < _moved.Count;
            if (!fromSorted && !fromMoved)
            {
                rank = default;
                place = Nowhere;
                return false;
            }

            if (fromSorted && (!fromMoved || Compare(_sorted[cursor.Sorted], _moved[cursor.Moved]) < 0))
            {
                rank = _sorted[cursor.Sorted];
                place = cursor.Sorted++;
                return true;
            }

            rank = _moved[cursor.Moved++];
            place = Moved;
            return true;
        }
    }

    /// <summary>
    /// Takes <paramref name="bytes"/> of the free memory of a GPU <see cref="Next"/> returned, at the
    /// place it gave; the places of other GPUs already read stay valid.
    /// </summary>
    public void Consume(in GpuRank rank, int place, long bytes)
    {
        if (bytes == 0)
        {
            return;
        }

        if (place >= 0)
        {
            _taken[place] = true;
        }
        else
        {
            var (node, gpu) = (rank.NodeIndex, rank.GpuIndex);
            _moved.RemoveAt(_moved.FindIndex(m => m.NodeIndex == node && m.GpuIndex == gpu));
        }

        var less = rank.Less(bytes);
        if (_heap is not null ? _heapCount > 0 && Compare(less, _heap[0]) > 0 : _boundary is { } boundary && Compare(less, boundary) > 0)
        {
            if (_heap is not null)
            {
                // Room is there: the GPU came out of the heap, or out of the selection the heap excludes.
                SiftUp(_heap, _heapCount++, less);
            }
            else
            {
                _setAside.Add(less);
            }

            return;
        }

        // Its place among the moved GPUs: after every one that ranks before it (no two GPUs tie).
        int low = 0, high = _moved.Count;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (Compare(_moved[middle], less) < 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        _moved.Insert(low, less);
    }

    /// <summary>One more GPU at the end of the sorted list, from the heap (ranking the rest first when the selection is read out).</summary>
    private void Extend()
    {
        if (_boundary is not null && _heap is null)
        {
            RankTheRest();
        }

        if (_heapCount > 0)
        {
            _sorted.Add(Pop());
            _taken.Add(false);
        }
    }

    public void Dispose()
    {
        if (_heap is { Length: > 0 } heap)
        {
            ArrayPool<GpuRank>.Shared.Return(heap);
            _heap = [];
            _heapCount = 0;
        }
    }

    /// <summary>Negative when <paramref name="a"/> ranks better (is placed on first).</summary>
    public int Compare(in GpuRank a, in GpuRank b)
    {
        var byKeys = GpuRank.CompareKeys(a, b);
        if (byKeys != 0 || a.NodeIndex == b.NodeIndex)
        {
            return byKeys != 0 ? byKeys : a.GpuIndex.CompareTo(b.GpuIndex);
        }

        var byNode = string.CompareOrdinal(_nodes[a.NodeIndex].NodeId, _nodes[b.NodeIndex].NodeId);
        return byNode != 0 ? byNode : a.NodeIndex.CompareTo(b.NodeIndex);
    }

    /// <summary>
    /// The pass read past the first selection: every usable GPU ranking after its boundary, and those
    /// set aside, go into a heap. Slow (the whole fleet again) and rare: a pass that starts more than
    /// the selection was sized for, or a function that finds too few candidates.
    /// </summary>
    private void RankTheRest()
    {
        var boundary = _boundary!.Value;
        var total = _setAside.Count;
        foreach (var node in _nodes)
        {
            total += node.Eligible ? node.Gpus.Count : 0;
        }

        // Rented: at 80 000 GPUs the array is a few MiB, which a pass every second should not allocate.
        var heap = ArrayPool<GpuRank>.Shared.Rent(Math.Max(total, 16));
        var count = 0;
        foreach (var rank in _setAside)
        {
            heap[count++] = rank;
        }

        var scratch = System.Array.Empty<ScalingGpu>();
        for (var n = 0; n < _nodes.Length; n++)
        {
            var node = _nodes[n];
            if (!node.Eligible)
            {
                continue;
            }

            var gpus = Lists.Span(node.Gpus, ref scratch);
            for (var g = 0; g < gpus.Length; g++)
            {
                var gpu = gpus[g];
                var rank = new GpuRank(node, n, gpu, g, gpu.MemoryFreeBytes);
                if (gpu.Healthy && Compare(rank, boundary) > 0)
                {
                    heap[count++] = rank;
                }
            }
        }

        for (var i = (count / 2) - 1; i >= 0; i--)
        {
            SiftDown(heap, count, i, heap[i]);
        }

        _heap = heap;
        _heapCount = count;
    }

    /// <summary>
    /// Reorders <paramref name="items"/> so that the one at <paramref name="nth"/> is the one a sort would put
    /// there, the better ones before it and the worse after (Hoare's quickselect, median-of-three pivot; a
    /// sort finishes the range should the partitions keep coming out lopsided).
    /// </summary>
    private void Select(Span<GpuRank> items, int nth)
    {
        int low = 0, high = items.Length - 1;
        for (var round = 0; high > low; round++)
        {
            if (round == 64)
            {
                items[low..(high + 1)].Sort(new Comparer(this));
                return;
            }

            var middle = low + ((high - low) / 2);
            if (Compare(items[middle], items[low]) < 0)
            {
                (items[middle], items[low]) = (items[low], items[middle]);
            }

            if (Compare(items[high], items[low]) < 0)
            {
                (items[high], items[low]) = (items[low], items[high]);
            }

            if (Compare(items[high], items[middle]) < 0)
            {
                (items[high], items[middle]) = (items[middle], items[high]);
            }

            var pivot = items[middle];
            int i = low, j = high;
            while (i <= j)
            {
                while (Compare(items[i], pivot) < 0)
                {
                    i++;
                }

                while (Compare(items[j], pivot) > 0)
                {
                    j--;
                }

                if (i <= j)
                {
                    (items[i], items[j]) = (items[j], items[i]);
                    i++;
                    j--;
                }
            }

            if (nth <= j)
            {
                high = j;
            }
            else if (nth >= i)
            {
                low = i;
            }
            else
            {
                return;
            }
        }
    }

    private GpuRank Pop()
    {
        var heap = _heap!;
        var top = heap[0];
        _heapCount--;
        if (_heapCount > 0)
        {
            SiftDown(heap, _heapCount, 0, heap[_heapCount]);
        }

        return top;
    }

    private void SiftUp(GpuRank[] heap, int i, GpuRank rank)
    {
        while (i > 0)
        {
            var parent = (i - 1) / 2;
            if (Compare(rank, heap[parent]) >= 0)
            {
                break;
            }

            heap[i] = heap[parent];
            i = parent;
        }

        heap[i] = rank;
    }

    private void SiftDown(GpuRank[] heap, int count, int i, GpuRank rank)
    {
        while (true)
        {
            var child = (2 * i) + 1;
            if (child >= count)
            {
                break;
            }

            if (child + 1 < count && Compare(heap[child + 1], heap[child]) < 0)
            {
                child++;
            }

            if (Compare(heap[child], rank) >= 0)
            {
                break;
            }

            heap[i] = heap[child];
            i = child;
        }

        heap[i] = rank;
    }

    private sealed class Comparer(GpuRanking ranking) : IComparer<GpuRank>
    {
        public int Compare(GpuRank x, GpuRank y) => ranking.Compare(x, y);
    }
}
