namespace Drover.Aggregator.Clusters;

/// <summary>
/// What <c>PUT /v1/clusters/{name}</c> changed for one cluster, over its configuration; kept in
/// <c>&lt;dataDirectory&gt;/clusters.json</c>. A null field is not overridden.
/// </summary>
internal sealed record ClusterOverride(
    string Name,
    int? Weight = null,
    int? Priority = null,
    string? Role = null,
    string? Group = null,
    int? MinSurvivors = null,
    double? MinimumSurvivalRatio = null);
