using Drover.Aggregator.State;
using Drover.Decisions.Balancing;

namespace Drover.Aggregator.Balancers;

/// <summary>What the last coordination pass held, as the API shows it.</summary>
/// <param name="Tables">Every table by key (<c>service/&lt;name&gt;</c>, <c>function/&lt;name&gt;</c>).</param>
/// <param name="Associations">Every association, with its pairs and why it is not coordinated, when it is not.</param>
/// <param name="Balancers">Every registered balancer's last contact, by registration name.</param>
/// <param name="Placements">Where each table's entries run, by table key.</param>
internal sealed record LbView(
    IReadOnlyDictionary<string, StoredLbTable> Tables,
    IReadOnlyList<LbAssociationView> Associations,
    IReadOnlyDictionary<string, BalancerStatus> Balancers,
    IReadOnlyDictionary<string, IReadOnlyList<LbPlacement>> Placements)
{
    /// <summary>Before the first pass.</summary>
    public static LbView Empty { get; } = new(
        new Dictionary<string, StoredLbTable>(StringComparer.Ordinal),
        [],
        new Dictionary<string, BalancerStatus>(StringComparer.Ordinal),
        new Dictionary<string, IReadOnlyList<LbPlacement>>(StringComparer.Ordinal));

    /// <summary>A scope as the API names it: <c>node</c>, <c>site</c>, <c>dbShard</c>.</summary>
    public static string ScopeName(AssociationScope scope) => scope switch
    {
        AssociationScope.Site => "site",
        AssociationScope.Shard => "dbShard",
        _ => "node",
    };

    /// <summary>
    /// A table as <c>GET /v1/lb/{services|functions}/{name}</c> shows it: name, version, policy, when it last changed,
    /// each entry with its weight, state and placement, and its problems (conflicts, a balancer's error).
    /// </summary>
    public object? Document(LbSide side, string name)
    {
        var key = LoadBalancingCoordinator.Key(side, name);
        if (!Tables.TryGetValue(key, out var held))
        {
            return null;
        }

        var placements = (Placements.GetValueOrDefault(key) ?? []).ToDictionary(p => p.Id, StringComparer.Ordinal);
        return new
        {
            kind = side == LbSide.Service ? "service" : "function",
            name,
            version = held.Table.Version,
            policy = held.Table.Policy,
            changedAt = held.ChangedAt,
            entries = held.Table.Entries.Select(e =>
            {
                placements.TryGetValue(e.Id, out var at);
                return new { id = e.Id, weight = e.Weight, state = LbCoordination.StateName(e.State), node = at?.Node, site = at?.Site, dbShard = at?.Shard };
            }),
            status = held.Problems.Count == 0 ? "in step" : "conflict",
            problems = held.Problems,
        };
    }
}

/// <summary>One association as the API shows it: who, by what, its pairs, and why it is not coordinated (null when it is).</summary>
internal sealed record LbAssociationView(string Function, string Service, string Scope, IReadOnlyList<LbPair> Pairs, IReadOnlyList<string> Conflicts, string? NotCoordinated)
{
    public static LbAssociationView Of(LbAssociation association, LbPairing pairing, string? notCoordinated)
        => new(association.Function, association.Service, LbView.ScopeName(association.Scope), pairing.Pairs, pairing.Conflicts.Select(c => c.Reason).ToArray(), notCoordinated);
}

/// <summary>A registered balancer with its last contact: when it last answered, how many servers it had, its last error (null when the last read worked).</summary>
internal sealed record BalancerStatus(string Name, BalancerRegistration Registration, DateTimeOffset? LastReadAt, int? Servers, string? Error)
{
    /// <summary>This pass's status: a successful read stamps <paramref name="at"/>; a failure keeps the last successful read's time.</summary>
    public static BalancerStatus Of(BalancerRegistration registration, int? servers, string? error, BalancerStatus? previous, DateTimeOffset? at = null)
        => new(registration.Name, registration, error is null ? at : previous?.LastReadAt, servers ?? previous?.Servers, error);
}
