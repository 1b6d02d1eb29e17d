using Drover.Aggregator.State;
using Drover.Decisions.Placement;

namespace Drover.Aggregator.Placement;

/// <summary>
/// The penalised nodes of the reconciler's memory (<see cref="Drover.Decisions.Reconcile.ReconcileMemory.Penalties"/>;
/// <see cref="NodePenalty"/> decides) as the store keeps them: loaded here, kept after each pass, and
/// saved whenever a penalty starts, starts again or ends, so a restarted aggregator does not send new
/// instances straight back to a node whose start just failed.
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

    // The nodes of the penalties last kept: one that ended since is a change to save.
    private HashSet<string> _stored = new(StringComparer.Ordinal);

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
            _stored = _memory.Keys.ToHashSet(StringComparer.Ordinal);
        }
    }

    /// <summary>How long a node sits out after a failed start.</summary>
    public static TimeSpan Duration => NodePenalty.Duration;

    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(1);

    /// <summary>The penalties running now, each with the time it still runs: what was kept, less the time since.</summary>
    public IReadOnlyDictionary<string, TimeSpan> Current()
        => NodePenalty.Advance(_memory, _time.GetElapsedTime(_at), [], Duration);

    /// <summary>
    /// Keeps the penalties a pass returned. Saved when one started (or started again) or one ended: in
    /// between, the end times stand still, so a pass that only lets them run writes nothing. A penalty
    /// counts as started again when it runs longer than kept by more than <see cref="Slack"/> (the
    /// pass's clock and this one's differ by the time between them).
    /// </summary>
    public void Keep(IReadOnlyDictionary<string, TimeSpan> next)
    {
        var previous = Current();
        var stored = _stored;
        _memory = next;
        _stored = next.Keys.ToHashSet(StringComparer.Ordinal);
        _at = _time.GetTimestamp();
        var changed = !stored.SetEquals(next.Keys)
            || next.Any(p => !previous.TryGetValue(p.Key, out var left) || p.Value > left + Slack);
        if (_store is not null && changed)
        {
            // Kept as tried even when the write failed (logged by the store): the penalty holds in memory.
            var wallNow = _time.GetUtcNow();
            _store.SaveNodePenalties(next.ToDictionary(p => p.Key, p => wallNow + p.Value, StringComparer.Ordinal));
        }
    }

    /// <summary>
    /// The memory the rule works on, from the kept end times: the time left of each penalty at
    /// <paramref name="now"/>, at most <paramref name="longest"/>; ended ones left out.
    /// </summary>
    internal static Dictionary<string, TimeSpan> Remaining(IReadOnlyDictionary<string, DateTimeOffset> endsAt, DateTimeOffset now, TimeSpan longest)
        => endsAt.Where(p => p.Value > now)
            .ToDictionary(p => p.Key, p => p.Value - now < longest ? p.Value - now : longest, StringComparer.Ordinal);
}
