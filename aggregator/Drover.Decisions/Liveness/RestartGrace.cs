namespace Drover.Decisions.Liveness;

/// <summary>
/// After a restart, the nodes the aggregator still waits for: those of assignments loaded from the
/// store that the node table does not know yet, while less than the grace has passed since the load.
/// An awaited node is neither lost nor a target; its instances count where they are. After the
/// grace it is as good as lost, and its instances resume elsewhere.
/// </summary>
public static class RestartGrace
{
    /// <summary>The awaited nodes: <paramref name="loadedNodes"/> less <paramref name="knownNodes"/> while <paramref name="sinceLoad"/> is under <paramref name="grace"/>; none after.</summary>
    public static HashSet<string> AwaitedNodes(IEnumerable<string> loadedNodes, IEnumerable<string> knownNodes, TimeSpan sinceLoad, TimeSpan grace)
    {
        ArgumentNullException.ThrowIfNull(loadedNodes);
        ArgumentNullException.ThrowIfNull(knownNodes);
        var awaited = new HashSet<string>(StringComparer.Ordinal);
        if (sinceLoad >= grace)
        {
            return awaited;
        }

        awaited.UnionWith(loadedNodes);
        awaited.ExceptWith(knownNodes);
        return awaited;
    }

    /// <summary>The grace: the configured one, at least one lease.</summary>
    public static TimeSpan Of(TimeSpan configured, TimeSpan lease) => configured > lease ? configured : lease;
}
