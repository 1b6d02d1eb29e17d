namespace Drover.Decisions.Health;

/// <summary>A cluster with its counts, threshold and state: what the traffic shares are decided on.</summary>
/// <param name="Settings">Its settings (the defaults for a cluster only named by a node).</param>
/// <param name="Mode">Its group's backup mode.</param>
/// <param name="Total">Its nodes, lost ones included.</param>
/// <param name="Survivors">Its surviving nodes.</param>
/// <param name="MinSurvivors">The threshold in force.</param>
/// <param name="Health">Its state now.</param>
/// <param name="HealthyFor">How long it has been at or above its threshold without a break.</param>
internal sealed record EvaluatedCluster(
    HealthCluster Settings,
    BackupMode Mode,
    int Total,
    int Survivors,
    int MinSurvivors,
    ClusterHealthState Health,
    TimeSpan HealthyFor)
{
    public string Name => Settings.Name;

    public string Group => Settings.Group;

    public bool IsMaster => Settings.Role == ClusterRole.Master;

    /// <summary>The weight, negative values counting as zero.</summary>
    public int Weight => Math.Max(0, Settings.Weight);

    public int Priority => Settings.Priority;

    /// <summary>Takes traffic (its own or another's): healthy, not recovering, with a surviving node.</summary>
    public bool CanServe => Health == ClusterHealthState.Healthy && Survivors >= 1;
}
