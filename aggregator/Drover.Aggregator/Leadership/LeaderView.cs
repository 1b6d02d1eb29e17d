namespace Drover.Aggregator.Leadership;

/// <summary>The leadership as one read of the store shows it.</summary>
/// <param name="StoreId">Names the store the term counts in (chosen at random when the store was created).</param>
/// <param name="Term">Grows with every leadership; 0 before the first.</param>
/// <param name="Holder">The leader's aggregator id; null before the first election.</param>
/// <param name="LinkUrl">Where agents reach the leader's link.</param>
/// <param name="ApiUrl">Where the other aggregators reach the leader's HTTP API.</param>
/// <param name="AcquiredAt">When the term began (the store's clock).</param>
/// <param name="SinceRenewed">How long ago the leader last renewed its lease (the store's clock); null before the first election.</param>
/// <param name="LeaseRunning">Whether the lease still runs.</param>
internal sealed record LeaderView(
    string StoreId,
    long Term,
    string? Holder,
    string LinkUrl,
    string ApiUrl,
    DateTimeOffset? AcquiredAt,
    TimeSpan? SinceRenewed,
    bool LeaseRunning)
{
    /// <summary>
    /// Whether agents and clients are sent to the holder: its lease runs and it renewed it within three renewals. A
    /// leader that stopped renewing (killed, cut off) is not named while its lease runs out, so agents wait for the
    /// next leader instead of dialling one that is gone.
    /// </summary>
    public bool Reachable(TimeSpan renewal) => LeaseRunning && Holder is not null && SinceRenewed is { } since && since <= renewal * 3;
}
