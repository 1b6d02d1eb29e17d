using System.Globalization;

namespace Drover.Decisions.Health;

/// <summary>
/// Health grouping, backup-mode targets and failback with hysteresis: a function of the snapshot.
/// </summary>
/// <remarks>
/// <para>
/// Clusters: every cluster of the snapshot (the first entry wins when a name repeats), plus every
/// cluster a node names that is not listed, with the defaults of <see cref="Unconfigured"/>. The
/// result lists them by name (ordinal).
/// </para>
/// <para>
/// Threshold: a cluster's total counts all its nodes, lost ones included; its survivors the nodes
/// that <see cref="HealthNode.Survives"/>. The threshold is the fixed
/// <see cref="HealthCluster.MinSurvivors"/> when set, else <c>ceil(total × ratio)</c> computed in
/// decimal, and never below 1 (a cluster without nodes has nothing to serve with). At or above it
/// the cluster may be healthy; below it, it is unhealthy.
/// </para>
/// <para>
/// State: failback's hysteresis, from the previous evaluation (see <see cref="FailbackHysteresis.Next"/>):
/// below the threshold is unhealthy at once; back at it, a cluster is recovering until it has been
/// there for <see cref="HealthSnapshot.FailbackAfter"/>, then healthy. A transition is recorded for
/// every change from a previous state, none on first sight.
/// </para>
/// <para>
/// Traffic: only healthy clusters serve; see <see cref="TrafficShares"/> for the shares, the three
/// backup modes, the spreading of shares no group can take, and fail-open.
/// </para>
/// </remarks>
public static class ClusterHealth
{
    /// <summary>The group of a cluster that only nodes name.</summary>
    internal const string DefaultGroup = "default";

    /// <summary>The weight of a cluster that only nodes name.</summary>
    internal const int DefaultWeight = 100;

    /// <summary>The survival ratio of a cluster that only nodes name.</summary>
    internal const double DefaultMinimumSurvivalRatio = 0.5;

    /// <summary>
    /// The settings of a cluster that only nodes name: group <c>default</c>, master, weight 100,
    /// priority 0, no fixed threshold, ratio 0.5.
    /// </summary>
    internal static HealthCluster Unconfigured(string name)
        => new(name, DefaultGroup, ClusterRole.Master, DefaultWeight, 0, null, DefaultMinimumSurvivalRatio);

    public static HealthDecision Decide(HealthSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var settings = new Dictionary<string, HealthCluster>(StringComparer.Ordinal);
        foreach (var cluster in snapshot.Clusters)
        {
            settings.TryAdd(cluster.Name, cluster);
        }

        var total = new Dictionary<string, int>(StringComparer.Ordinal);
        var survivors = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in snapshot.Nodes)
        {
            if (!settings.ContainsKey(node.Cluster))
            {
                settings.Add(node.Cluster, Unconfigured(node.Cluster));
            }

            total[node.Cluster] = total.GetValueOrDefault(node.Cluster) + 1;
            survivors[node.Cluster] = survivors.GetValueOrDefault(node.Cluster) + (node.Survives ? 1 : 0);
        }

        var evaluated = new List<EvaluatedCluster>(settings.Count);
        var transitions = new List<ClusterTransition>();
        foreach (var cluster in settings.Values.OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            var count = total.GetValueOrDefault(cluster.Name);
            var alive = survivors.GetValueOrDefault(cluster.Name);
            var threshold = SurvivalThreshold.MinSurvivors(count, cluster.MinSurvivors, cluster.MinimumSurvivalRatio);
            var previous = snapshot.Previous.GetValueOrDefault(cluster.Name);
            var step = FailbackHysteresis.Next(alive >= threshold, previous, snapshot.Elapsed, snapshot.FailbackAfter);
            var mode = snapshot.GroupModes.TryGetValue(cluster.Group, out var m) ? m : BackupMode.AllMasters;
            var current = new EvaluatedCluster(cluster, mode, count, alive, threshold, step.Health, step.HealthyFor);
            evaluated.Add(current);
            if (step.From is { } from)
            {
                transitions.Add(new ClusterTransition(cluster.Name, from, step.Health, alive, threshold,
                    TransitionReason(current, from, previous?.HealthyFor ?? TimeSpan.Zero, snapshot.FailbackAfter)));
            }
        }

        var outcome = TrafficShares.Decide(evaluated, snapshot.FailOpen);
        var statuses = evaluated.Select(c => new ClusterStatus(
            c.Name, c.Group, c.Settings.Role, c.Mode, c.Settings.Weight, c.Priority, c.Total, c.Survivors, c.MinSurvivors,
            c.Health, c.HealthyFor, outcome.ServingFor[c.Name], outcome.ServedBy[c.Name])).ToArray();
        return new HealthDecision(statuses, transitions, outcome.Shares, outcome.Degraded, outcome.Reason);
    }

    private static string TransitionReason(EvaluatedCluster cluster, ClusterHealthState from, TimeSpan healthyBefore, TimeSpan failbackAfter)
    {
        var counts = $"{cluster.Survivors} surviving {TrafficShares.Nodes(cluster.Survivors)} of {cluster.Total}";
        return (from, cluster.Health) switch
        {
            (ClusterHealthState.Recovering, ClusterHealthState.Unhealthy) =>
                $"cluster '{cluster.Name}' flapped after {Seconds(healthyBefore)} of recovery: it has {counts}, below its threshold of {cluster.MinSurvivors}",
            (_, ClusterHealthState.Unhealthy) =>
                $"cluster '{cluster.Name}' has {counts}, below its threshold of {cluster.MinSurvivors}",
            (_, ClusterHealthState.Recovering) =>
                $"cluster '{cluster.Name}' has {counts}, at or above its threshold of {cluster.MinSurvivors}, and recovers: {Seconds(cluster.HealthyFor)} of the {Seconds(failbackAfter)} before failback",
            _ =>
                $"cluster '{cluster.Name}' fails back after {Seconds(cluster.HealthyFor)} at or above its threshold of {cluster.MinSurvivors} (failback after {Seconds(failbackAfter)}); it has {counts}",
        };
    }

    private static string Seconds(TimeSpan value)
        => $"{value.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s";
}
