namespace Drover.Decisions.Health;

/// <summary>Where traffic goes, and which clusters take over for which.</summary>
/// <param name="Shares">Clusters with a share above zero, ordered by name, summing to 1; or empty.</param>
/// <param name="ServingFor">Per cluster, the clusters whose traffic it takes (ordinal order).</param>
/// <param name="ServedBy">Per cluster, the clusters taking its traffic (ordinal order).</param>
/// <param name="Degraded">No cluster can serve.</param>
/// <param name="Reason">Why, in one line.</param>
internal sealed record ShareOutcome(
    IReadOnlyList<ClusterShare> Shares,
    IReadOnlyDictionary<string, IReadOnlyList<string>> ServingFor,
    IReadOnlyDictionary<string, IReadOnlyList<string>> ServedBy,
    bool Degraded,
    string Reason);
