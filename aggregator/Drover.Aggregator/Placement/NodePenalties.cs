using Drover.Aggregator.State;
using Drover.Decisions.Placement;

namespace Drover.Aggregator.Placement;

/// <summary>
/// The reconciler's memory of penalised nodes (<see cref="NodePenalty"/> decides; this keeps what it
/// returned and the time of the pass that returned it). With a store, the memory is loaded here and
/// saved whenever a penalty starts or ends, so a restarted aggregator does not send new instances
/// straight back to a node whose start just failed.
/// </summary>
/// <remarks>
/// The store keeps when each penalty ends on the wall clock (<see cref="TimeProvider.GetUtcNow"/>), not
/// the time left: the time the aggregator was down counts towards the penalty, as it would have had it
/// run. A loaded penalty never runs longer than <see cref="Duration"/> from the load, so a wall clock
/// set back while the aggregator was down cannot bench a node for longer than one failure does.
/// </remarks>
internal sealed class NodePenalties
{
    private readonly TimeProvider _time;
    private readonly IDecisionMemoryStore? _store;
    private IReadOnlyDictionary<string, TimeSpan> _memory = NodePenalty.None;
    private long _at;

    /// <param name="time">The clock: monotonic time between passes, wall-clock time for what is stored.</param>
    /// <param name="store">Where the penalties are kept across restarts; loaded here. Null: memory only.</param>
    public NodePenalties(TimeProvider time, IDecisionMemoryStore? store = null)
    {
        _time = time;
        _store = store;
        _at = time.GetTimestamp();
        if (store is not null)
        {
            _memory = Remaining(store.LoadNodePenalties(), time.GetUtcNow(), Duration);
        }
    }

    /// <summary>How long a node sits out after a failed start.</summary>
    public static TimeSpan Duration => NodePenalty.Duration;

    /// <summary>Penalises <paramref name="nodeId"/> from now on.</summary>
    public void Penalise(string nodeId) => Advance([nodeId]);

    /// <summary>The nodes penalised now; expired penalties are dropped.</summary>
    public IReadOnlySet<string> Current() => Advance([]).Keys.ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// The memory the rule works on, from the kept end times: the time left of each penalty at
    /// <paramref name="now"/>, at most <paramref name="longest"/>; ended ones left out.
    /// </summary>
    internal static Dictionary<string, TimeSpan> Remaining(IReadOnlyDictionary<string, DateTimeOffset> endsAt, DateTimeOffset now, TimeSpan longest)
        => endsAt.Where(p => p.Value > now)
            .ToDictionary(p => p.Key, p => p.Value - now < longest ? p.Value - now : longest, StringComparer.Ordinal);

    private IReadOnlyDictionary<string, TimeSpan> Advance(IReadOnlyCollection<string> failedNow)
    {
        var now = _time.GetTimestamp();
        var previous = _memory;
        _memory = NodePenalty.Advance(previous, _time.GetElapsedTime(_at, now), failedNow, NodePenalty.Duration);
        _at = now;

        // A penalty started (or started again) or one ended: the kept end times changed. Between those,
        // the end times stand still, so a pass that only reads writes nothing.
        if (_store is not null && (failedNow.Count > 0 || _memory.Count != previous.Count))
        {
            var wallNow = _time.GetUtcNow();
            _store.SaveNodePenalties(_memory.ToDictionary(p => p.Key, p => wallNow + p.Value, StringComparer.Ordinal));
        }

        return _memory;
    }
}
