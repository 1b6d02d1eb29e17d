namespace Drover.Decisions.Liveness;

/// <summary>
/// After a restart, what the aggregator still waits for: of the nodes (or clusters) its loaded memory
/// names, those not back yet, while less than the grace has passed since the load. An awaited node
/// is neither lost nor a target, and its instances count where they are; an awaited cluster is not
/// judged by the absence of its nodes, and its loaded health state is kept. After the grace, what is
/// still missing is judged like anything else (a node is as good as lost, and its instances resume
/// elsewhere).
/// </summary>
public static class RestartGrace
{
    /// <summary>What is awaited: <paramref name="loaded"/> less <paramref name="back"/> while <paramref name="sinceLoad"/> is under <paramref name="grace"/>; nothing after.</summary>
    public static HashSet<string> Awaited(IEnumerable<string> loaded, IEnumerable<string> back, TimeSpan sinceLoad, TimeSpan grace)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        ArgumentNullException.ThrowIfNull(back);
        var awaited = new HashSet<string>(StringComparer.Ordinal);
        if (sinceLoad >= grace)
        {
            return awaited;
        }

        awaited.UnionWith(loaded);
        awaited.ExceptWith(back);
        return awaited;
    }

    /// <summary>The grace: the configured one, at least one lease.</summary>
    public static TimeSpan Of(TimeSpan configured, TimeSpan lease) => configured > lease ? configured : lease;
}
