namespace Drover.Aggregator.Leadership;

/// <summary>The answer of <c>GET /v1/leader</c>: who leads the fleet, as this aggregator knows it.</summary>
/// <param name="AggregatorId">This aggregator.</param>
/// <param name="Role"><c>leader</c> or <c>follower</c>.</param>
/// <param name="Store">The store, without credentials.</param>
/// <param name="StoreId">The store's id, which the term counts in.</param>
/// <param name="Term">The leader's term; 0 while none is known.</param>
/// <param name="Leader">The leader; null while none is reachable (an election is under way, or the store cannot be read).</param>
internal sealed record LeaderResponse(string AggregatorId, string Role, string Store, string StoreId, long Term, LeaderInfo? Leader);

/// <summary>The leader named by <see cref="LeaderResponse"/>.</summary>
internal sealed record LeaderInfo(string AggregatorId, string ApiUrl, string LinkUrl, DateTimeOffset? Since);

/// <summary>Maps <c>GET /v1/leader</c>, on the leader and on every follower; each puts it behind the management API's policy (a read token).</summary>
internal static class LeaderApi
{
    public const string Path = "/v1/leader";

    public static RouteHandlerBuilder MapLeaderApi(this IEndpointRouteBuilder endpoints, Func<LeaderResponse> answer)
        => endpoints.MapGet(Path, () => Results.Ok(answer()));

    /// <summary>The leading aggregator's own answer.</summary>
    public static LeaderResponse Of(CurrentLeadership leadership, string store) => new(
        leadership.AggregatorId, "leader", store, leadership.StoreId, leadership.Term,
        new LeaderInfo(leadership.AggregatorId, leadership.ApiUrl, leadership.LinkUrl, leadership.Since));

    /// <summary>A follower's answer, from the leadership it read last.</summary>
    public static LeaderResponse Of(string self, LeaderView? observed, TimeSpan renewal, string store) => new(
        self, "follower", store, observed?.StoreId ?? "", observed?.Term ?? 0,
        observed is { Holder: { } holder } view && view.Reachable(renewal) ? new LeaderInfo(holder, view.ApiUrl, view.LinkUrl, view.AcquiredAt) : null);
}
