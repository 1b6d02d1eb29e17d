namespace Drover.Decisions.Health;

/// <summary>What a cluster is for inside its group: serving its own share, or standing by for masters.</summary>
public enum ClusterRole
{
    Master,
    Standby,
}

/// <summary>How an unhealthy master's traffic and tasks move inside a cluster group.</summary>
public enum BackupMode
{
    /// <summary>Several masters and several standbys: each unhealthy master goes to a standby chosen by priority, then weight.</summary>
    MastersStandbys,

    /// <summary>Every cluster a master: an unhealthy master's share is split among the healthy masters by weight.</summary>
    AllMasters,

    /// <summary>Several masters and one standby: every unhealthy master goes to that standby.</summary>
    MastersOneStandby,
}

/// <summary>Where a cluster stands: healthy, unhealthy, or healthy again but not yet long enough to take its traffic back.</summary>
public enum ClusterHealthState
{
    Healthy,
    Recovering,
    Unhealthy,
}

/// <summary>A cluster's settings (configuration merged with run-time changes).</summary>
/// <param name="Name">The cluster's name.</param>
/// <param name="Group">The cluster group it fails over inside.</param>
/// <param name="Role">Master or standby.</param>
/// <param name="Weight">0-1000: its share of traffic among masters, and its rank among standbys.</param>
/// <param name="Priority">Lower is preferred (standby choice, fail-open choice).</param>
/// <param name="MinSurvivors">A fixed minimum survival threshold; wins over the ratio when set.</param>
/// <param name="MinimumSurvivalRatio">The threshold as a ratio of the cluster's nodes: <c>ceil(total × ratio)</c>.</param>
public sealed record HealthCluster(
    string Name,
    string Group,
    ClusterRole Role,
    int Weight,
    int Priority,
    int? MinSurvivors,
    double MinimumSurvivalRatio);

/// <summary>A node as health decisions see it.</summary>
/// <param name="NodeId">The node's id.</param>
/// <param name="Cluster">Its cluster.</param>
/// <param name="ServerNumber">Its number in the cluster (a stable tie-breaker).</param>
/// <param name="Survives">Alive, connected, heartbeat fresh and answering survival probes.</param>
/// <param name="Weight">0-1000: its share of the cluster's traffic.</param>
/// <param name="Priority">Lower is preferred inside the cluster.</param>
/// <param name="Endpoint">Where its shim is reached (<c>host:port</c>).</param>
public sealed record HealthNode(
    string NodeId,
    string Cluster,
    int ServerNumber,
    bool Survives,
    int Weight,
    int Priority,
    string Endpoint);

/// <summary>What the previous evaluation concluded about a cluster: the state failback's hysteresis carries over.</summary>
/// <param name="Health">Its state then.</param>
/// <param name="HealthyFor">How long it had been at or above its threshold without a break (zero when unhealthy).</param>
public sealed record PreviousClusterHealth(ClusterHealthState Health, TimeSpan HealthyFor);

/// <summary>The snapshot one health evaluation decides on.</summary>
/// <param name="Clusters">Every cluster: configured, or named by a node.</param>
/// <param name="Nodes">Every known node, lost ones included (they count in a cluster's total).</param>
/// <param name="GroupModes">The backup mode of each cluster group; a group not listed is <see cref="BackupMode.AllMasters"/>.</param>
/// <param name="Previous">The previous evaluation's state per cluster; a cluster not listed is seen for the first time.</param>
/// <param name="Elapsed">Time since the previous evaluation (added to <see cref="PreviousClusterHealth.HealthyFor"/>).</param>
/// <param name="FailbackAfter">How long a recovered cluster stays healthy before it takes its traffic back.</param>
/// <param name="FailOpen">With no healthy cluster, serve from the best unhealthy one rather than refuse.</param>
public sealed record HealthSnapshot(
    IReadOnlyList<HealthCluster> Clusters,
    IReadOnlyList<HealthNode> Nodes,
    IReadOnlyDictionary<string, BackupMode> GroupModes,
    IReadOnlyDictionary<string, PreviousClusterHealth> Previous,
    TimeSpan Elapsed,
    TimeSpan FailbackAfter,
    bool FailOpen);

/// <summary>One cluster after an evaluation, as <c>GET /v1/clusters</c> shows it.</summary>
/// <param name="Name">The cluster.</param>
/// <param name="Group">Its group.</param>
/// <param name="Role">Master or standby.</param>
/// <param name="Mode">Its group's backup mode.</param>
/// <param name="Weight">Its weight.</param>
/// <param name="Priority">Its priority.</param>
/// <param name="Total">Its nodes, lost ones included.</param>
/// <param name="Survivors">Its surviving nodes.</param>
/// <param name="MinSurvivors">The threshold in force: the fixed number, or <c>ceil(total × ratio)</c>, at least 1.</param>
/// <param name="Health">Its state now.</param>
/// <param name="HealthyFor">How long it has been at or above the threshold without a break.</param>
/// <param name="ServingFor">The unhealthy (or recovering) clusters whose traffic it takes.</param>
/// <param name="ServedBy">The clusters taking its traffic while it is unhealthy or recovering.</param>
public sealed record ClusterStatus(
    string Name,
    string Group,
    ClusterRole Role,
    BackupMode Mode,
    int Weight,
    int Priority,
    int Total,
    int Survivors,
    int MinSurvivors,
    ClusterHealthState Health,
    TimeSpan HealthyFor,
    IReadOnlyList<string> ServingFor,
    IReadOnlyList<string> ServedBy);

/// <summary>A change of a cluster's state, with the numbers behind it.</summary>
public sealed record ClusterTransition(
    string Cluster,
    ClusterHealthState From,
    ClusterHealthState To,
    int Survivors,
    int MinSurvivors,
    string Reason);

/// <summary>The share of all traffic one cluster serves (its own and what it takes over).</summary>
public sealed record ClusterShare(string Cluster, double Share);

/// <summary>
/// One evaluation's outcome: every cluster's state, the transitions since the previous one, and
/// the traffic shares (summing to 1 over clusters with survivors; empty when nothing can serve).
/// </summary>
/// <param name="Clusters">Every cluster, ordered by name.</param>
/// <param name="Transitions">What changed since the previous evaluation.</param>
/// <param name="Shares">Where traffic goes; only clusters with surviving nodes, shares summing to 1.</param>
/// <param name="Degraded">No cluster is healthy: the shares are fail-open's choice (or empty when fail-open is off).</param>
/// <param name="Reason">Why the shares are what they are, in one line.</param>
public sealed record HealthDecision(
    IReadOnlyList<ClusterStatus> Clusters,
    IReadOnlyList<ClusterTransition> Transitions,
    IReadOnlyList<ClusterShare> Shares,
    bool Degraded,
    string Reason);
