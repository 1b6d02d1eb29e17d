namespace Drover.Aggregator.Configuration;

/// <summary>
/// One cluster's settings in the aggregator's configuration (<c>clusters.&lt;name&gt;</c>). A cluster
/// named only by its agents has these defaults. <c>PUT /v1/clusters/{name}</c> overrides them at run time.
/// </summary>
internal sealed class ClusterOptions
{
    /// <summary>0-1000: the cluster's share of traffic among masters, and its rank among standbys.</summary>
    public int Weight { get; set; } = ClusterDefaults.Weight;

    /// <summary>Lower is preferred: which standby takes over, which unhealthy cluster serves under fail-open.</summary>
    public int Priority { get; set; } = ClusterDefaults.Priority;

    /// <summary><c>master</c> or <c>standby</c>.</summary>
    public string Role { get; set; } = ClusterDefaults.Role;

    /// <summary>The cluster group it fails over inside.</summary>
    public string Group { get; set; } = ClusterDefaults.Group;

    /// <summary>A fixed minimum survival threshold; when set it wins over the ratio.</summary>
    public int? MinSurvivors { get; set; }

    /// <summary>This cluster's survival ratio; unset: the aggregator's <c>minimumSurvivalRatio</c>.</summary>
    public double? MinimumSurvivalRatio { get; set; }
}
