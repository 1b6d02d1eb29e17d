using System.Collections.Concurrent;

namespace Drover.Agent.Telemetry;

/// <summary>
/// Critical GPU events (XID, double-bit ECC, GPU unavailable) by GPU UUID, written by the event
/// loop's thread and read by the sampler. Each XID is held for the hold time after it arrived, in
/// its own slot per kind (<see cref="GpuHealthTable.KindOf"/>): the XID 45 that follows every kill of
/// a CUDA process must not replace a hardware XID that came before it and give the GPU back.
/// </summary>
internal sealed class GpuHealthBoard
{
    private readonly ConcurrentDictionary<(string Uuid, XidKind Kind), Mark> _marks = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _hold;

    public GpuHealthBoard(TimeProvider time, TimeSpan hold)
    {
        _time = time;
        _hold = hold;
    }

    public void Record(string uuid, uint xid) => _marks[(uuid, GpuHealthTable.KindOf(xid))] = new Mark(xid, _time.GetTimestamp());

    /// <summary>The last XID of each kind the GPU reported while it is held.</summary>
    public HeldXids Held(string uuid)
        => new(Active(uuid, XidKind.Hardware), Active(uuid, XidKind.Application), Active(uuid, XidKind.Unclassified));

    private uint? Active(string uuid, XidKind kind)
    {
        if (!_marks.TryGetValue((uuid, kind), out var mark))
        {
            return null;
        }

        if (_time.GetElapsedTime(mark.At) < _hold)
        {
            return mark.Xid;
        }

        _marks.TryRemove(new KeyValuePair<(string, XidKind), Mark>((uuid, kind), mark));
        return null;
    }

    private readonly record struct Mark(uint Xid, long At);
}
