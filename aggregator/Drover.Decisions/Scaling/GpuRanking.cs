using System.Buffers;

namespace Drover.Decisions.Scaling;

/// <summary>
/// The usable GPUs of one pass in placement order, sorted only as far as the pass reads: a binary
/// heap of all of them (built in linear time) feeds a sorted prefix on demand, so a pass that starts
/// a few hundred instances over 80 000 GPUs orders a few hundred, not 80 000. A start placed on a GPU
/// takes its memory: the GPU moves back to where its smaller free memory puts it, so later starts of
/// the same pass see what is left.
/// </summary>
/// <remarks>Invariant: every GPU of the prefix ranks before every GPU still in the heap.</remarks>
internal sealed class GpuRanking : IDisposable
{
    private readonly List<GpuRank> _sorted = [];
    private GpuRank[] _heap;
    private int _heapCount;

    private GpuRanking(IReadOnlyList<ScalingNode> nodes)
    {
        var total = 0;
        for (var n = 0; n < nodes.Count; n++)
        {
            total += nodes[n].Eligible ? nodes[n].Gpus.Count : 0;
        }

        // Rented: at 80 000 GPUs the array is a few MiB, which a pass every second should not allocate.
        _heap = ArrayPool<GpuRank>.Shared.Rent(Math.Max(total, 16));
        for (var n = 0; n < nodes.Count; n++)
        {
            var node = nodes[n];
            if (!node.Eligible)
            {
                continue;
            }

            var gpus = node.Gpus;
            for (var g = 0; g < gpus.Count; g++)
            {
                var gpu = gpus[g];
                if (gpu.Healthy)
                {
                    _heap[_heapCount++] = new GpuRank(node, g, gpu, gpu.MemoryFreeBytes);
                    MaxMemoryFreeBytes = Math.Max(MaxMemoryFreeBytes, gpu.MemoryFreeBytes);
                }
            }
        }

        for (var i = (_heapCount / 2) - 1; i >= 0; i--)
        {
            SiftDown(i);
        }
    }

    /// <summary>The most free memory of any usable GPU before this pass's starts: no start needing more can be placed.</summary>
    public long MaxMemoryFreeBytes { get; }

    /// <summary>Ranks the healthy GPUs of the eligible nodes.</summary>
    public static GpuRanking Of(IReadOnlyList<ScalingNode> nodes) => new(nodes);

    /// <summary>The GPU at <paramref name="index"/> in placement order (0 is best); false past the last.</summary>
    public bool TryGet(int index, out GpuRank rank)
    {
        while (_sorted.Count <= index && _heapCount > 0)
        {
            _sorted.Add(Pop());
        }

        if (index < _sorted.Count)
        {
            rank = _sorted[index];
            return true;
        }

        rank = default;
        return false;
    }

    /// <summary>
    /// Takes <paramref name="bytes"/> of the free memory of the GPU at <paramref name="index"/>. The GPU
    /// only moves later, so positions before <paramref name="index"/> stay as they were: consume the
    /// starts of one function from the last to the first.
    /// </summary>
    public void Consume(int index, long bytes)
    {
        if (bytes == 0)
        {
            return;
        }

        var less = _sorted[index].Less(bytes);
        _sorted.RemoveAt(index);
        if (_heapCount > 0 && GpuRank.Compare(less, _heap[0]) > 0)
        {
            Push(less);
            return;
        }

        // Its new place in the prefix: after every GPU that ranks before it (no two GPUs tie).
        int low = index, high = _sorted.Count;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (GpuRank.Compare(_sorted[middle], less) < 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        _sorted.Insert(low, less);
    }

    public void Dispose()
    {
        if (_heap.Length > 0)
        {
            ArrayPool<GpuRank>.Shared.Return(_heap, clearArray: true);
            _heap = [];
            _heapCount = 0;
        }
    }

    private GpuRank Pop()
    {
        var top = _heap[0];
        _heapCount--;
        if (_heapCount > 0)
        {
            _heap[0] = _heap[_heapCount];
            SiftDown(0);
        }

        _heap[_heapCount] = default;
        return top;
    }

    private void Push(GpuRank rank)
    {
        // Room is there: the GPU came out of the heap, and the prefix just gave it up.
        var i = _heapCount++;
        while (i > 0)
        {
            var parent = (i - 1) / 2;
            if (GpuRank.Compare(_heap[parent], rank) <= 0)
            {
                break;
            }

            _heap[i] = _heap[parent];
            i = parent;
        }

        _heap[i] = rank;
    }

    private void SiftDown(int i)
    {
        var item = _heap[i];
        while (true)
        {
            var child = (2 * i) + 1;
            if (child >= _heapCount)
            {
                break;
            }

            if (child + 1 < _heapCount && GpuRank.Compare(_heap[child + 1], _heap[child]) < 0)
            {
                child++;
            }

            if (GpuRank.Compare(_heap[child], item) >= 0)
            {
                break;
            }

            _heap[i] = _heap[child];
            i = child;
        }

        _heap[i] = item;
    }
}
