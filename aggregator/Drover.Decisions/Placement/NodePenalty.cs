namespace Drover.Decisions.Placement;

/// <summary>
/// Which nodes sit out new autoscaled instances after a start failed on them, as an explicit memory:
/// each penalised node with how long its penalty still runs. A pass hands in the memory the last one
/// returned, the time since, and the nodes whose starts failed now; it gets the next memory back.
/// Pure: the host keeps the memory (and can persist it), this only decides.
/// </summary>
public static class NodePenalty
{
    /// <summary>How long a node sits out after a failed start.</summary>
    public static readonly TimeSpan Duration = TimeSpan.FromSeconds(60);

    /// <summary>No node penalised.</summary>
    public static IReadOnlyDictionary<string, TimeSpan> None { get; } = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);

    /// <summary>
    /// The memory after <paramref name="elapsed"/>: every penalty shortened by it, those run out
    /// dropped, and each node in <paramref name="failedNow"/> penalised for <paramref name="duration"/>
    /// from now (a second failure starts its penalty again; it never shortens one).
    /// </summary>
    public static IReadOnlyDictionary<string, TimeSpan> Advance(
        IReadOnlyDictionary<string, TimeSpan> previous,
        TimeSpan elapsed,
        IEnumerable<string> failedNow,
        TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(failedNow);
        if (elapsed < TimeSpan.Zero)
        {
            elapsed = TimeSpan.Zero;
        }

        var next = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        foreach (var (node, remaining) in previous)
        {
            if (remaining > elapsed)
            {
                next[node] = remaining - elapsed;
            }
        }

        foreach (var node in failedNow)
        {
            next[node] = next.TryGetValue(node, out var left) && left > duration ? left : duration;
        }

        return next;
    }
}
