using Drover.Decisions.Health;

namespace Drover.Decisions.Tests.Health;

public class ClusterHealthRandomizedTests
{
    private static readonly int[] Weights = [0, 0, 1, 5, 100, 1000];
    private static readonly double[] Ratios = [0, 0.3, 0.5, 0.7, 1];
    private static readonly BackupMode[] Modes = [BackupMode.AllMasters, BackupMode.MastersStandbys, BackupMode.MastersOneStandby];
    private static readonly ClusterHealthState[] States = [ClusterHealthState.Healthy, ClusterHealthState.Recovering, ClusterHealthState.Unhealthy];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Decide_RandomFleets_InvariantsHold(int seed)
    {
        var random = new Random(seed);
        var degraded = 0;
        var handedOver = 0;
        for (var i = 0; i < 300; i++)
        {
            var snapshot = RandomSnapshot(random);
            var decision = ClusterHealth.Decide(snapshot);
            var context = $"seed {seed} case {i}: {decision.Reason}";
            CheckInvariants(snapshot, decision, context);
            degraded += decision.Degraded ? 1 : 0;
            handedOver += decision.Clusters.Any(c => c.ServedBy.Count > 0) ? 1 : 0;
        }

        // The generator must reach both sides, or the invariants above prove little.
        Assert.InRange(degraded, 10, 290);
        Assert.InRange(handedOver, 10, 300);
    }

    private static HealthSnapshot RandomSnapshot(Random random)
    {
        var groups = Enumerable.Range(0, random.Next(1, 4)).Select(g => $"g{g}").ToArray();
        var clusters = Enumerable.Range(0, random.Next(0, 7)).Select(c => new HealthCluster(
            $"c{c}",
            groups[random.Next(groups.Length)],
            random.Next(3) == 0 ? ClusterRole.Standby : ClusterRole.Master,
            Weights[random.Next(Weights.Length)],
            random.Next(3),
            random.Next(4) == 0 ? random.Next(0, 5) : null,
            Ratios[random.Next(Ratios.Length)])).ToList();
        var clusterNames = clusters.Select(c => c.Name).Append("stray").ToArray();
        var nodes = new List<HealthNode>();
        foreach (var name in clusterNames)
        {
            var count = name == "stray" ? (random.Next(4) == 0 ? random.Next(1, 4) : 0) : random.Next(0, 6);
            nodes.AddRange(Enumerable.Range(1, count).Select(n => new HealthNode($"{name}-{n}", name, n, random.Next(3) > 0, 100, 0, $"10.0.0.{n}:7000")));
        }

        var modes = groups.Where(_ => random.Next(4) > 0).ToDictionary(g => g, _ => Modes[random.Next(Modes.Length)]);
        var previous = clusterNames.Where(_ => random.Next(3) > 0)
            .ToDictionary(n => n, _ => new PreviousClusterHealth(States[random.Next(States.Length)], TimeSpan.FromSeconds(random.Next(0, 10))));
        return new HealthSnapshot(
            clusters.OrderBy(_ => random.Next()).ToArray(),
            nodes.OrderBy(_ => random.Next()).ToArray(),
            modes,
            previous,
            TimeSpan.FromSeconds(random.Next(0, 4)),
            TimeSpan.FromSeconds(new[] { 0, 3, 10 }[random.Next(3)]),
            random.Next(2) == 0);
    }

    private static void CheckInvariants(HealthSnapshot snapshot, HealthDecision decision, string context)
    {
        var byName = decision.Clusters.ToDictionary(c => c.Name);
        Assert.True(decision.Clusters.Select(c => c.Name).SequenceEqual(decision.Clusters.Select(c => c.Name).Order(StringComparer.Ordinal)), context);
        Assert.True(decision.Shares.Select(s => s.Cluster).SequenceEqual(decision.Shares.Select(s => s.Cluster).Order(StringComparer.Ordinal)), context);
        Assert.True(byName.Keys.ToHashSet().SetEquals(snapshot.Clusters.Select(c => c.Name).Concat(snapshot.Nodes.Select(n => n.Cluster))), context);

        // Shares sum to 1 or are empty, and only clusters with a surviving node get one.
        Assert.True(decision.Shares.Count == 0 || Math.Abs(decision.Shares.Sum(s => s.Share) - 1) < 1e-9, context);
        Assert.All(decision.Shares, s => Assert.True(s.Share > 0 && byName[s.Cluster].Survivors >= 1, context));

        // The state follows the threshold: below it always unhealthy; healthy only at or above it.
        foreach (var c in decision.Clusters)
        {
            Assert.True(c.MinSurvivors >= 1, context);
            Assert.True(c.Survivors < c.MinSurvivors == (c.Health == ClusterHealthState.Unhealthy), context);
        }

        var canServe = decision.Clusters.Where(c => c.Health == ClusterHealthState.Healthy).Select(c => c.Name).ToHashSet();
        if (canServe.Count > 0)
        {
            Assert.False(decision.Degraded, context);
            Assert.All(decision.Shares, s => Assert.Contains(s.Cluster, canServe));
        }
        else
        {
            Assert.True(decision.Degraded, context);
            Assert.True(decision.Shares.Count <= 1, context);
            Assert.True(decision.Shares.Count == (snapshot.FailOpen && decision.Clusters.Any(c => c.Survivors >= 1) ? 1 : 0), context);
        }

        // A healthy master never gives up its own weight share.
        var masters = decision.Clusters.Where(c => c.Role == ClusterRole.Master).ToList();
        var weightSum = masters.Sum(c => (long)c.Weight);
        foreach (var master in masters.Where(m => m.Health == ClusterHealthState.Healthy))
        {
            var own = weightSum == 0 ? 1d / masters.Count : (double)master.Weight / weightSum;
            var share = decision.Shares.SingleOrDefault(s => s.Cluster == master.Name)?.Share ?? 0;
            Assert.True(share >= own - 1e-12, $"{context}: '{master.Name}' has {share}, own {own}");
        }

        // Hand-overs go from clusters that cannot serve to clusters that can, recorded at both ends.
        foreach (var c in decision.Clusters)
        {
            Assert.All(c.ServedBy, to => Assert.Contains(c.Name, byName[to].ServingFor));
            Assert.All(c.ServingFor, from => Assert.Contains(c.Name, byName[from].ServedBy));
            Assert.True(c.ServedBy.Count == 0 || !canServe.Contains(c.Name), context);
            Assert.True(c.ServingFor.Count == 0 || canServe.Contains(c.Name), context);
            Assert.True(c.ServedBy.SequenceEqual(c.ServedBy.Order(StringComparer.Ordinal)), context);
            Assert.True(c.ServingFor.SequenceEqual(c.ServingFor.Order(StringComparer.Ordinal)), context);
        }

        // Transitions only for clusters seen before, and only for real changes.
        Assert.All(decision.Transitions, t =>
        {
            Assert.True(snapshot.Previous.ContainsKey(t.Cluster) && t.From != t.To && byName[t.Cluster].Health == t.To, context);
            Assert.Equal(snapshot.Previous[t.Cluster].Health, t.From);
        });
        Assert.All(decision.Clusters, c => Assert.Equal(
            snapshot.Previous.TryGetValue(c.Name, out var p) && p.Health != c.Health,
            decision.Transitions.Any(t => t.Cluster == c.Name)));
    }
}
