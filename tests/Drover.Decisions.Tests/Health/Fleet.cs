using Drover.Decisions.Health;

namespace Drover.Decisions.Tests.Health;

/// <summary>Builds snapshots from table rows and renders decisions back into table strings.</summary>
internal static class Fleet
{
    public static HealthSnapshot Snapshot(
        IEnumerable<Spec> specs,
        BackupMode mode = BackupMode.AllMasters,
        bool failOpen = true,
        IReadOnlyDictionary<string, PreviousClusterHealth>? previous = null,
        TimeSpan elapsed = default,
        TimeSpan failbackAfter = default)
    {
        var list = specs.ToList();
        var clusters = list.Select(s => new HealthCluster(s.Name, s.Group, s.Role, s.Weight, s.Priority, s.Min, s.Ratio)).ToArray();
        var nodes = list.SelectMany(s => Nodes(s.Name, s.Total, s.Alive)).ToArray();
        var modes = list.Select(s => s.Group).Distinct().ToDictionary(g => g, _ => mode);
        return new HealthSnapshot(clusters, nodes, modes, previous ?? new Dictionary<string, PreviousClusterHealth>(), elapsed, failbackAfter, failOpen);
    }

    public static IEnumerable<HealthNode> Nodes(string cluster, int total, int alive)
        => Enumerable.Range(1, total).Select(i => new HealthNode($"{cluster}-{i}", cluster, i, i <= alive, 100, 0, $"10.0.0.{i}:7000"));

    /// <summary>The shares as <c>a=0.25 b=0.75</c>, rounded to three decimals.</summary>
    public static string Shares(HealthDecision decision)
        => string.Join(" ", decision.Shares.Select(s => $"{s.Cluster}={Math.Round(s.Share, 3):0.###}"));

    /// <summary>The hand-overs as <c>a-&gt;b a-&gt;c</c>, from each cluster's <see cref="ClusterStatus.ServedBy"/>.</summary>
    public static string Handovers(HealthDecision decision)
        => string.Join(" ", decision.Clusters.SelectMany(c => c.ServedBy.Select(to => $"{c.Name}->{to}")));

    public static string Transitions(HealthDecision decision)
        => string.Join(" ", decision.Transitions.Select(t => $"{t.Cluster}:{t.From}->{t.To}"));

    public static ClusterStatus Status(HealthDecision decision, string name) => decision.Clusters.Single(c => c.Name == name);
}
