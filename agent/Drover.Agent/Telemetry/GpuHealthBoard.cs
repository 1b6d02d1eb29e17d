using System.Collections.Concurrent;

namespace Drover.Agent.Telemetry;

/// <summary>
/// Critical GPU events (XID, double-bit ECC, GPU unavailable) by GPU UUID, written by the event
/// loop's thread and read by the sampler. A GPU stays marked for the hold time after its last event.
/// </summary>
internal sealed class GpuHealthBoard
{
    private readonly ConcurrentDictionary<string, Mark> _marks = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly TimeSpan _hold;

    public GpuHealthBoard(TimeProvider time, TimeSpan hold)
    {
        _time = time;
        _hold = hold;
    }

    public void Record(string uuid, uint xid) => _marks[uuid] = new Mark(xid, _time.GetTimestamp());

    /// <summary>The XID of the GPU's last critical event while it is held, else null.</summary>
    public uint? ActiveXid(string uuid)
    {
        if (!_marks.TryGetValue(uuid, out var mark))
        {
            return null;
        }

        if (_time.GetElapsedTime(mark.At) < _hold)
        {
            return mark.Xid;
        }

        _marks.TryRemove(new KeyValuePair<string, Mark>(uuid, mark));
        return null;
    }

    private readonly record struct Mark(uint Xid, long At);
}
