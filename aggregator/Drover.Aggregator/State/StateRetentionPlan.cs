namespace Drover.Aggregator.State;

/// <summary>What one pass of <see cref="StateRetention.Decide"/> found.</summary>
/// <param name="Delete">The instances whose every kept snapshot is to be deleted now.</param>
/// <param name="UnknownSince">The instances kept but unknown, not yet past the grace, with since when: the next pass's input.</param>
internal sealed record StateRetentionPlan(
    IReadOnlyList<StoredInstance> Delete,
    IReadOnlyDictionary<string, DateTimeOffset> UnknownSince);
