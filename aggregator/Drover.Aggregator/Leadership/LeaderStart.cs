using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.State;
using Drover.Decisions.Routing;

namespace Drover.Aggregator.Leadership;

/// <summary>
/// How the leading application begins: the leadership it acts for, when its lease was won (elected on PostgreSQL),
/// and the routing table the last leader published, which its gateway serves until the nodes of that table have come
/// back to it (or <c>restartGraceMs</c> passed), so that traffic does not stop while agents reconnect; and, among
/// several, the secret with which followers mark the API requests they forward (<see cref="Access.ApiRateLimit.ForwardedByHeader"/>).
/// </summary>
/// <remarks>
/// <c>Store</c>: the store the election was won on, which the leading application then uses (its writes fenced by the
/// term from the election on), with the lease kept by the caller (<see cref="HighAvailability"/>); null: the application
/// opens its own store and keeps the lease itself.
/// </remarks>
internal sealed record LeaderStart(CurrentLeadership Leadership, long LeaseSentAt, RoutingTable? Inherited, string? ForwardingSecret = null, PostgresStateStore? Store = null)
{
    /// <summary>The name of the aggregators' forwarding secret in the store.</summary>
    public const string ForwardingSecretName = "api-forwarding";

    /// <summary>An aggregator elected by <see cref="LeaderElection"/>, on <paramref name="store"/>.</summary>
    public static async Task<LeaderStart> ElectedAsync(PostgresStateStore store, LeaderView won, long sentAt, AggregatorIdentity identity, CancellationToken cancellationToken)
    {
        var routing = await store.ReadRoutingAsync(cancellationToken);
        return new LeaderStart(
            new CurrentLeadership(identity.Id, won.StoreId, won.Term, won.LinkUrl, won.ApiUrl, won.AcquiredAt ?? DateTimeOffset.UtcNow, elected: true),
            sentAt,
            routing is { } row ? PublishedRouting.Deserialize(row.Json, 0) : null,
            store.GetOrCreateSecret(ForwardingSecretName, Security.ShimCredentialFile.NewValue),
            store);
    }

    /// <summary>
    /// An aggregator started on its own (<see cref="AggregatorHost.Build"/> without an election): on SQLite it begins a
    /// term of its <c>state.db</c>; on PostgreSQL it must win the leadership now, which it does where no other
    /// aggregator's lease runs (a test host, one aggregator restarted), and is refused otherwise.
    /// </summary>
    public static LeaderStart Alone(IAggregatorStore store, AggregatorOptions options, AggregatorIdentity identity, TimeProvider time)
    {
        switch (store)
        {
            case SqliteStateStore lone:
                var begun = lone.BeginLoneTerm();
                return new LeaderStart(
                    new CurrentLeadership(identity.Id, begun.StoreId, begun.Term, options.LinkUrl, options.ApiUrl, time.GetUtcNow(), elected: false, seen => lone.RaiseTerm(seen)),
                    time.GetTimestamp(),
                    null);
            case PostgresStateStore shared:
                var sentAt = time.GetTimestamp();
                var won = shared.TryAcquireLeadershipAsync(identity.Id, options.LinkUrl, options.ApiUrl, options.LeaderLease, CancellationToken.None).GetAwaiter().GetResult()
                    ?? throw new InvalidOperationException($"another aggregator leads '{shared.Description}'");
                return ElectedAsync(shared, won, sentAt, identity, CancellationToken.None).GetAwaiter().GetResult() with { Store = null };
            default:
                throw new InvalidOperationException($"the store '{store.Description}' keeps no leadership term");
        }
    }
}
