namespace Drover.Aggregator.Leadership;

/// <summary>
/// The leadership this aggregator acts for, in the leading application: the store's id and the term its Welcomes and
/// commands carry (<see cref="Protocol.V1.LeaderTerm"/>). A lone aggregator (SQLite) begins a term at each start; one
/// of several (PostgreSQL) was elected (<see cref="LeaderElection"/>) and keeps its term while
/// <see cref="LeaseKeeper"/> renews the lease.
/// </summary>
internal sealed class CurrentLeadership
{
    private readonly Func<long, long?> _higherTermSeen;
    private readonly TaskCompletionSource<string> _deposed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _term;
    private long _actsUntil = long.MaxValue;

    /// <param name="aggregatorId">This aggregator.</param>
    /// <param name="storeId">The store the term counts in.</param>
    /// <param name="term">The term it leads in.</param>
    /// <param name="linkUrl">Where agents reach it.</param>
    /// <param name="apiUrl">Where clients reach its API.</param>
    /// <param name="since">When the term began.</param>
    /// <param name="elected">Elected among several (PostgreSQL): a higher term seen means another was elected since.</param>
    /// <param name="higherTermSeen">
    /// For a lone aggregator: given a higher term of its store that an agent accepted before (a <c>state.db</c>
    /// restored from a backup), returns the term to go on in (kept above it), or null when it cannot be kept.
    /// </param>
    public CurrentLeadership(string aggregatorId, string storeId, long term, string linkUrl, string apiUrl, DateTimeOffset since, bool elected, Func<long, long?>? higherTermSeen = null)
    {
        AggregatorId = aggregatorId;
        StoreId = storeId;
        _term = term;
        LinkUrl = linkUrl;
        ApiUrl = apiUrl;
        Since = since;
        Elected = elected;
        _higherTermSeen = higherTermSeen ?? (_ => null);
    }

    public string AggregatorId { get; }

    public string StoreId { get; }

    public long Term => Interlocked.Read(ref _term);

    public string LinkUrl { get; }

    public string ApiUrl { get; }

    public DateTimeOffset Since { get; }

    /// <summary>Elected among several aggregators on PostgreSQL; false for a lone one (SQLite).</summary>
    public bool Elected { get; }

    /// <summary>
    /// Whether this aggregator may still act (send a command) now: not deposed, and, elected, within the time its last
    /// renewed lease lets it act on its own clock (<see cref="ActUntil"/>). Read at the moment of acting, so a lease
    /// keeper whose timer a starved host fires late cannot stretch the leadership past it.
    /// </summary>
    public bool Acting(TimeProvider time) => !_deposed.Task.IsCompleted && time.GetTimestamp() < Interlocked.Read(ref _actsUntil);

    /// <summary>Until when (a <see cref="TimeProvider.GetTimestamp"/>) this aggregator may act: set by <see cref="LeaseKeeper"/> at each renewal.</summary>
    public void ActUntil(long timestamp) => Interlocked.Exchange(ref _actsUntil, timestamp);

    /// <summary>Completes, with the reason, once this aggregator learns that another leads now: <see cref="LeaseKeeper"/> then stops it.</summary>
    public Task<string> Deposed => _deposed.Task;

    /// <summary>
    /// An agent says it accepted <paramref name="knownTerm"/> of <paramref name="storeId"/>. A term of another store, or
    /// not above this one, changes nothing (true: go on). A higher term of this store deposes an elected leader (false:
    /// refuse the agent, <see cref="Deposed"/> completes), and moves a lone one's term above it.
    /// </summary>
    public bool Accepts(string storeId, long knownTerm)
    {
        if (!string.Equals(storeId, StoreId, StringComparison.Ordinal) || knownTerm <= Term)
        {
            return true;
        }

        if (!Elected && _higherTermSeen(knownTerm) is { } raised && raised > knownTerm)
        {
            InterlockedMax(ref _term, raised);
            return true;
        }

        Depose($"an agent has accepted term {knownTerm} of this store, above this aggregator's term {Term}: another aggregator was elected since");
        return false;
    }

    /// <summary>Marks this aggregator deposed (the lease lapsed, a fenced write was refused, an agent knows a newer term).</summary>
    public void Depose(string reason) => _deposed.TrySetResult(reason);

    private static void InterlockedMax(ref long target, long value)
    {
        var seen = Interlocked.Read(ref target);
        while (seen < value)
        {
            var was = Interlocked.CompareExchange(ref target, value, seen);
            if (was == seen)
            {
                return;
            }

            seen = was;
        }
    }
}
