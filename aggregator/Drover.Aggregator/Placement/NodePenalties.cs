using Drover.Decisions.Placement;

namespace Drover.Aggregator.Placement;

/// <summary>
/// The reconciler's memory of penalised nodes (<see cref="NodePenalty"/> decides; this keeps what it
/// returned and the time of the pass that returned it).
/// </summary>
internal sealed class NodePenalties
{
    private readonly TimeProvider _time;
    private IReadOnlyDictionary<string, TimeSpan> _memory = NodePenalty.None;
    private long _at;

    public NodePenalties(TimeProvider time)
    {
        _time = time;
        _at = time.GetTimestamp();
    }

    /// <summary>How long a node sits out after a failed start.</summary>
    public static TimeSpan Duration => NodePenalty.Duration;

    /// <summary>Penalises <paramref name="nodeId"/> from now on.</summary>
    public void Penalise(string nodeId) => Advance([nodeId]);

    /// <summary>The nodes penalised now; expired penalties are dropped.</summary>
    public IReadOnlySet<string> Current() => Advance([]).Keys.ToHashSet(StringComparer.Ordinal);

    private IReadOnlyDictionary<string, TimeSpan> Advance(IEnumerable<string> failedNow)
    {
        var now = _time.GetTimestamp();
        _memory = NodePenalty.Advance(_memory, _time.GetElapsedTime(_at, now), failedNow, NodePenalty.Duration);
        _at = now;
        return _memory;
    }
}
