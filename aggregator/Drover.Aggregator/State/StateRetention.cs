namespace Drover.Aggregator.State;

/// <summary>
/// Which kept instance states to delete: a pure function of what the store keeps, which instances
/// the aggregator knows now, since when each unknown one has been unknown, the clock and the grace.
/// <see cref="StatePruner"/> carries the result from one pass to the next and acts on it.
/// </summary>
/// <remarks>
/// An instance is known while the instance table has it (assigned, moving, or on a lost node
/// waiting to resume): its state is never deleted. An instance the aggregator forgot (its function
/// was deleted, it was scaled away, or its node never came back after a restart) has its state
/// deleted once it has been unknown for the whole grace, counted from the pass that first saw it
/// unknown. The count is not persisted: after a restart it starts again, which only ever keeps
/// state longer.
/// </remarks>
internal static class StateRetention
{
    /// <summary>Decides one pass.</summary>
    /// <param name="stored">Every instance the store keeps state of.</param>
    /// <param name="known">The instance ids the aggregator knows now.</param>
    /// <param name="unknownSince">The previous pass's <see cref="StateRetentionPlan.UnknownSince"/>.</param>
    /// <param name="now">The aggregator's clock now.</param>
    /// <param name="grace">How long an instance must stay unknown before its state goes.</param>
    public static StateRetentionPlan Decide(
        IReadOnlyList<StoredInstance> stored,
        IReadOnlySet<string> known,
        IReadOnlyDictionary<string, DateTimeOffset> unknownSince,
        DateTimeOffset now,
        TimeSpan grace)
    {
        var delete = new List<StoredInstance>();
        var next = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var instance in stored)
        {
            if (known.Contains(instance.InstanceId))
            {
                continue;
            }

            var since = unknownSince.TryGetValue(instance.InstanceId, out var seen) && seen <= now ? seen : now;
            if (now - since >= grace)
            {
                delete.Add(instance);
            }
            else
            {
                next[instance.InstanceId] = since;
            }
        }

        return new StateRetentionPlan(delete, next);
    }
}
