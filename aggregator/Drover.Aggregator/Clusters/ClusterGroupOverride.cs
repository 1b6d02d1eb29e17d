namespace Drover.Aggregator.Clusters;

/// <summary>A cluster group's backup mode set by <c>PUT /v1/cluster-groups/{name}</c>; kept in <c>&lt;dataDirectory&gt;/cluster-groups.json</c>.</summary>
internal sealed record ClusterGroupOverride(string Name, string Mode);
