namespace Drover.Aggregator.Configuration;

/// <summary>One cluster group's settings (<c>clusterGroups.&lt;name&gt;</c>).</summary>
internal sealed class ClusterGroupOptions
{
    /// <summary><c>all-masters</c>, <c>masters-standbys</c> or <c>masters-one-standby</c>.</summary>
    public string Mode { get; set; } = ClusterDefaults.Mode;
}
