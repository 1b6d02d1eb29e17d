using Drover.Decisions.Health;
using Drover.Decisions.Routing;

namespace Drover.Decisions.Tests.Routing;

public class RouteChoiceTests
{
    private const string Counter = "counter";
    private static readonly Func<string, int> Idle = _ => 0;

    private static RouteNode N(string id, string cluster, int server = 1, int weight = 100, int priority = 0)
        => new(id, cluster, server, weight, priority, $"10.0.0.{server}:7000");

    private static RoutingTable Table(IEnumerable<RouteCluster> clusters, string workload = Counter, IEnumerable<string>? hosts = null, bool degraded = false)
    {
        var list = clusters.ToList();
        var ids = hosts ?? list.SelectMany(c => c.Nodes).Select(n => n.NodeId);
        var map = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal) { [workload] = ids.ToHashSet(StringComparer.Ordinal) };
        return new RoutingTable(1, list, map, degraded, degraded ? "no cluster is healthy" : "all healthy");
    }

    private static RouteCluster C(string name, double share, params RouteNode[] nodes) => new(name, share, nodes);

    // ---- Build

    [Fact]
    public void Build_Decision_KeepsSharesSurvivorsInPreferenceOrderAndHosts()
    {
        var decision = new HealthDecision([], [], [new ClusterShare("b", 0.25), new ClusterShare("a", 0.75)], true, "a is unhealthy");
        HealthNode[] nodes =
        [
            new("a3", "a", 3, true, 100, 1, "h3:1"),
            new("a1", "a", 1, true, 50, 0, "h1:1"),
            new("a2", "a", 2, true, 100, 0, "h2:1"),
            new("a4", "a", 4, false, 100, 0, "h4:1"),
            new("a5", "a", 0, true, 100, 0, "h5:1"),
            new("b1", "b", 1, true, 10, 0, "g1:1"),
            new("c1", "c", 1, true, 10, 0, "f1:1"),
        ];
        var hosts = new Dictionary<string, IReadOnlySet<string>> { [Counter] = new HashSet<string> { "a1", "b1" } };

        var table = RouteChoice.Build(7, decision, nodes, hosts);

        Assert.Equal(7, table.Version);
        Assert.True(table.Degraded);
        Assert.Equal("a is unhealthy", table.Reason);
        Assert.Equal(["b", "a"], table.Clusters.Select(c => c.Cluster));
        Assert.Equal([0.25, 0.75], table.Clusters.Select(c => c.Share));
        Assert.Equal(["b1"], table.Clusters[0].Nodes.Select(n => n.NodeId));
        // priority asc, weight desc, server number; a4 does not survive; c has no share.
        Assert.Equal(["a5", "a2", "a1", "a3"], table.Clusters[1].Nodes.Select(n => n.NodeId));
        Assert.Equal(new RouteNode("a5", "a", 0, 100, 0, "h5:1"), table.Clusters[1].Nodes[0]);
        Assert.True(table.Hosts[Counter].SetEquals(["a1", "b1"]));
    }

    [Fact]
    public void Build_HostsChangedAfterwards_TableKeepsItsCopy()
    {
        var set = new HashSet<string> { "a1" };
        var table = RouteChoice.Build(1, new HealthDecision([], [], [new ClusterShare("a", 1)], false, "ok"),
            [new HealthNode("a1", "a", 1, true, 1, 0, "h:1")], new Dictionary<string, IReadOnlySet<string>> { [Counter] = set });

        set.Clear();

        Assert.Equal("a1", RouteChoice.Pick(table, Counter, 0, 0, Idle).Node?.NodeId);
    }

    [Fact]
    public void Build_ShareOfClusterWithoutSurvivors_ClusterHasNoNodes()
    {
        var table = RouteChoice.Build(1, new HealthDecision([], [], [new ClusterShare("a", 1)], false, "ok"),
            [new HealthNode("a1", "a", 1, false, 1, 0, "h:1")], new Dictionary<string, IReadOnlySet<string>>());

        Assert.Empty(Assert.Single(table.Clusters).Nodes);
    }

    // ---- Pick: clusters by share

    public static TheoryData<double, string> ShareDraws => new()
    {
        { 0.0, "a" },
        { 0.2999, "a" },
        { 0.3, "b" },       // cumulative edge: a covers [0, 0.3)
        { 0.9999, "c" },
        { 0.8, "c" },
        { 0.7999, "b" },
        { 1.0, "c" },       // out of range clamps to the top
        { -0.5, "a" },
    };

    [Theory]
    [MemberData(nameof(ShareDraws))]
    public void Pick_ClusterDraw_FollowsCumulativeShares(double clusterDraw, string expected)
    {
        var table = Table([C("a", 0.3, N("a1", "a")), C("b", 0.5, N("b1", "b")), C("c", 0.2, N("c1", "c"))]);

        var result = RouteChoice.Pick(table, Counter, clusterDraw, 0, Idle);

        Assert.Equal(expected, result.Node?.Cluster);
    }

    public static TheoryData<double, string> RenormalisedDraws => new()
    {
        // b (0.5) hosts nothing: a and c split 0.3 : 0.2 of 0.5 → a below 0.6, c above.
        { 0.0, "a" },
        { 0.5999, "a" },
        { 0.6, "c" },
        { 0.9999, "c" },
    };

    [Theory]
    [MemberData(nameof(RenormalisedDraws))]
    public void Pick_ClusterWithoutHosts_ItsShareGoesToTheOthers(double clusterDraw, string expected)
    {
        var table = Table([C("a", 0.3, N("a1", "a")), C("b", 0.5, N("b1", "b")), C("c", 0.2, N("c1", "c"))], hosts: ["a1", "c1"]);

        var result = RouteChoice.Pick(table, Counter, clusterDraw, 0, Idle);

        Assert.Equal(expected, result.Node?.Cluster);
    }

    [Fact]
    public void Pick_ClusterWithZeroShare_NeverChosen()
    {
        var table = Table([C("a", 0, N("a1", "a")), C("b", 1, N("b1", "b"))]);

        Assert.Equal("b", RouteChoice.Pick(table, Counter, 0, 0, Idle).Node?.Cluster);
    }

    // ---- Pick: node inside the cluster

    [Fact]
    public void Pick_MixedPriorities_OnlyBestUsablePriorityServes()
    {
        // a1 has the best priority but lacks the workload: priority 1 is the best usable one; a4 (priority 2) never serves.
        var table = Table([C("a", 1, N("a1", "a", 1, priority: 0), N("a2", "a", 2, priority: 1), N("a3", "a", 3, priority: 1), N("a4", "a", 4, priority: 2))],
            hosts: ["a2", "a3", "a4"]);
        var busy = new Dictionary<string, int> { ["a2"] = 50, ["a3"] = 60, ["a4"] = 0 };

        var result = RouteChoice.Pick(table, Counter, 0, 0, id => busy[id]);

        Assert.Equal("a2", result.Node?.NodeId);
    }

    [Fact]
    public void Pick_WeightZeroBesideWeighted_WeightZeroNeverServes()
    {
        var table = Table([C("a", 1, N("a1", "a", 1, weight: 0), N("a2", "a", 2, weight: 1))]);
        var busy = new Dictionary<string, int> { ["a1"] = 0, ["a2"] = 1000 };

        Assert.Equal("a2", RouteChoice.Pick(table, Counter, 0, 0, id => busy[id]).Node?.NodeId);
    }

    [Fact]
    public void Pick_AllWeightsZero_TreatedAsEqualWeights()
    {
        var table = Table([C("a", 1, N("a1", "a", 1, weight: 0), N("a2", "a", 2, weight: 0))]);
        var busy = new Dictionary<string, int> { ["a1"] = 3, ["a2"] = 1 };

        Assert.Equal("a2", RouteChoice.Pick(table, Counter, 0, 0, id => busy[id]).Node?.NodeId);
    }

    public static TheoryData<int, int, int, int, string> LeastOutstanding => new()
    {
        // weight a1, outstanding a1, weight a2, outstanding a2 → node: the lowest (outstanding + 1) / weight
        { 100, 0, 100, 1, "a1" },
        { 100, 2, 100, 1, "a2" },
        { 300, 2, 100, 0, "a2" },   // 3/300 = 1/100: a tie, which the draw 0.99 gives to the last in order (a2)
        { 300, 3, 100, 0, "a2" },   // 4/300 > 1/100
        { 200, 2, 100, 1, "a1" },   // 3/200 < 2/100
        { 100, 0, 200, 0, "a2" },   // 1/100 > 1/200: the heavier idle node first
    };

    [Theory]
    [MemberData(nameof(LeastOutstanding))]
    public void Pick_Outstanding_WeightedLeastOutstandingWins(int weight1, int busy1, int weight2, int busy2, string expected)
    {
        var table = Table([C("a", 1, N("a1", "a", 1, weight1), N("a2", "a", 2, weight2))]);
        var busy = new Dictionary<string, int> { ["a1"] = busy1, ["a2"] = busy2 };

        // nodeDraw 0.99 picks the last of any tie (order: weight desc), so a tie between a1 (300) and a2 (100) gives a2.
        var result = RouteChoice.Pick(table, Counter, 0, 0.99, id => busy[id]);

        Assert.Equal(expected, result.Node?.NodeId);
    }

    public static TheoryData<double, string> TieDraws => new()
    {
        { 0.0, "a1" },
        { 0.3333, "a1" },
        { 0.3334, "a2" },
        { 0.6666, "a2" },
        { 0.6667, "a3" },
        { 0.9999, "a3" },
    };

    [Theory]
    [MemberData(nameof(TieDraws))]
    public void Pick_IdleEqualNodes_TiesSplitByNodeDraw(double nodeDraw, string expected)
    {
        // a4 is busier: it is not among the tied.
        var table = Table([C("a", 1, N("a1", "a", 1), N("a2", "a", 2), N("a4", "a", 4), N("a3", "a", 3))]);

        var result = RouteChoice.Pick(table, Counter, 0, nodeDraw, id => id == "a4" ? 1 : 0);

        Assert.Equal(expected, result.Node?.NodeId);
    }

    // ---- Pick: exclude

    [Fact]
    public void Pick_FailedNodeExcluded_RetriesOnAnotherNodeOfTheCluster()
    {
        var table = Table([C("a", 1, N("a1", "a", 1), N("a2", "a", 2))]);

        var result = RouteChoice.Pick(table, Counter, 0, 0, Idle, new HashSet<string> { "a1" });

        Assert.Equal("a2", result.Node?.NodeId);
    }

    [Fact]
    public void Pick_ExcludedBestPriority_NextPriorityServes()
    {
        var table = Table([C("a", 1, N("a1", "a", 1, priority: 0), N("a2", "a", 2, priority: 1))]);

        Assert.Equal("a2", RouteChoice.Pick(table, Counter, 0, 0, Idle, new HashSet<string> { "a1" }).Node?.NodeId);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(0.9999)]
    public void Pick_ExcludedOnlyNodeOfCluster_FallsToAnotherCluster(double clusterDraw)
    {
        var table = Table([C("a", 0.9, N("a1", "a")), C("b", 0.1, N("b1", "b"))]);

        var result = RouteChoice.Pick(table, Counter, clusterDraw, 0, Idle, new HashSet<string> { "a1" });

        Assert.Equal("b1", result.Node?.NodeId);
    }

    [Fact]
    public void Pick_EveryNodeExcluded_NoNodeAndReasonNamesThem()
    {
        var table = Table([C("a", 1, N("a1", "a"))]);

        var result = RouteChoice.Pick(table, Counter, 0, 0, Idle, new HashSet<string> { "a1" });

        Assert.Null(result.Node);
        Assert.Equal("no surviving node of a serving cluster other than 'a1' has a ready instance of 'counter'", result.Reason);
    }

    // ---- Pick: nothing to serve

    [Fact]
    public void Pick_WorkloadWithoutHostsEntry_NoNodeAndReasonNamesTheWorkload()
    {
        var table = Table([C("a", 1, N("a1", "a"))]);

        var result = RouteChoice.Pick(table, "service/db", 0, 0, Idle);

        Assert.Null(result.Node);
        Assert.Equal("no surviving node of a serving cluster has a ready instance of 'service/db'", result.Reason);
    }

    [Fact]
    public void Pick_HostsOnlyOutsideServingClusters_NoNode()
    {
        var table = Table([C("a", 1, N("a1", "a")), C("b", 0, N("b1", "b"))], hosts: ["b1", "z9"]);

        var result = RouteChoice.Pick(table, Counter, 0, 0, Idle);

        Assert.Null(result.Node);
        Assert.Contains("'counter'", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Pick_EmptyTable_NoNodeWithTheTablesReason()
    {
        var result = RouteChoice.Pick(RoutingTable.Empty, Counter, 0, 0, Idle);

        Assert.Null(result.Node);
        Assert.False(result.Degraded);
        Assert.Equal("no health evaluation has run yet", result.Reason);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Pick_TableDegraded_ResultCarriesIt(bool degraded)
    {
        var table = Table([C("a", 1, N("a1", "a"))], degraded: degraded);

        Assert.Equal(degraded, RouteChoice.Pick(table, Counter, 0, 0, Idle).Degraded);
        Assert.Equal(degraded, RouteChoice.Pick(table, "other", 0, 0, Idle).Degraded);
    }

    [Fact]
    public void Pick_TableCopiedWithOtherHosts_UsesTheCopysHosts()
    {
        var table = Table([C("a", 1, N("a1", "a"), N("a2", "a", 2))], hosts: ["a1"]);
        Assert.Equal("a1", RouteChoice.Pick(table, Counter, 0, 0, Idle).Node?.NodeId);

        var copy = table with { Hosts = new Dictionary<string, IReadOnlySet<string>> { [Counter] = new HashSet<string> { "a2" } } };

        Assert.Equal("a2", RouteChoice.Pick(copy, Counter, 0, 0, Idle).Node?.NodeId);
    }

    // ---- randomized invariants

    [Theory]
    [InlineData(1)]
    [InlineData(42)]
    [InlineData(4711)]
    public void Pick_RandomTables_InvariantsHold(int seed)
    {
        var random = new Random(seed);
        for (var round = 0; round < 200; round++)
        {
            var clusters = new List<RouteCluster>();
            var clusterCount = random.Next(1, 5);
            for (var c = 0; c < clusterCount; c++)
            {
                var nodes = Enumerable.Range(0, random.Next(0, 8))
                    .Select(i => N($"c{c}n{i}", $"c{c}", i, weight: random.Next(0, 3) * 50, priority: random.Next(0, 3)))
                    .ToArray();
                clusters.Add(C($"c{c}", random.Next(0, 3) == 0 ? 0 : random.NextDouble(), nodes));
            }

            var all = clusters.SelectMany(c => c.Nodes).Select(n => n.NodeId).ToList();
            var hosts = all.Where(_ => random.Next(0, 3) > 0).ToHashSet(StringComparer.Ordinal);
            var exclude = all.Where(_ => random.Next(0, 6) == 0).ToHashSet(StringComparer.Ordinal);
            var busy = all.ToDictionary(id => id, _ => random.Next(0, 4));
            var table = Table(clusters, hosts: hosts);

            var result = RouteChoice.Pick(table, Counter, random.NextDouble(), random.NextDouble(), id => busy[id], exclude);

            bool Usable(RouteNode n) => hosts.Contains(n.NodeId) && !exclude.Contains(n.NodeId);
            var anyCandidate = clusters.Any(c => c.Share > 0 && c.Nodes.Any(Usable));
            Assert.Equal(anyCandidate, result.Node is not null);
            if (result.Node is { } node)
            {
                var cluster = clusters.Single(c => c.Cluster == node.Cluster);
                Assert.True(cluster.Share > 0);
                Assert.True(Usable(node));
                Assert.Equal(cluster.Nodes.Where(Usable).Min(n => n.Priority), node.Priority);
            }
        }
    }

    [Theory]
    [InlineData(7)]
    [InlineData(99)]
    public void Pick_UniformDraws_ClusterFrequenciesMatchShares(int seed)
    {
        var random = new Random(seed);
        var table = Table([C("a", 0.5, N("a1", "a"), N("a2", "a", 2)), C("b", 0.3, N("b1", "b")), C("c", 0.2, N("c1", "c"), N("c2", "c", 2))]);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal) { ["a"] = 0, ["b"] = 0, ["c"] = 0 };
        const int Draws = 20_000;

        for (var i = 0; i < Draws; i++)
        {
            counts[RouteChoice.Pick(table, Counter, random.NextDouble(), random.NextDouble(), Idle).Node!.Cluster]++;
        }

        Assert.InRange(counts["a"] / (double)Draws, 0.47, 0.53);
        Assert.InRange(counts["b"] / (double)Draws, 0.27, 0.33);
        Assert.InRange(counts["c"] / (double)Draws, 0.17, 0.23);
    }

    // ---- Weights of a workload's own load-balancing table

    private static RoutingTable Weighed(IReadOnlyDictionary<string, int> weights, params string[] hosts)
    {
        var decision = new HealthDecision([], [], [new ClusterShare("a", 1)], false, "ok");
        HealthNode[] nodes = [new("a1", "a", 1, true, 100, 0, "h1:1"), new("a2", "a", 2, true, 100, 0, "h2:1"), new("a3", "a", 3, true, 100, 0, "h3:1")];
        var hosting = new Dictionary<string, IReadOnlySet<string>>
        {
            [Counter] = hosts.ToHashSet(StringComparer.Ordinal),
            ["other"] = new HashSet<string> { "a1", "a2", "a3" },
        };
        return RouteChoice.Build(1, decision, nodes, hosting, new Dictionary<string, IReadOnlyDictionary<string, int>> { [Counter] = weights });
    }

    [Fact]
    public void Weights_TabledWorkload_WeighsItsNodesByTheTable_OtherWorkloadsKeepNodeWeights()
    {
        var table = Weighed(new Dictionary<string, int> { ["a1"] = 1, ["a2"] = 10 }, "a1", "a2");

        // Idle nodes: weighted least outstanding picks the heavier one.
        var pick = RouteChoice.Pick(table, Counter, 0, 0, Idle);
        Assert.Equal("a2", pick.Node?.NodeId);
        Assert.Equal(10, pick.Node?.Weight);
        Assert.Contains("weight 10 in the load-balancing table of 'counter'", pick.Reason, StringComparison.Ordinal);

        // (outstanding + 1) / weight: a2 with 8 outstanding scores 9/10 against idle a1's 1/1, so a2 still; with 10, a1.
        Assert.Equal("a2", RouteChoice.Pick(table, Counter, 0, 0, n => n == "a2" ? 8 : 0).Node?.NodeId);
        Assert.Equal("a1", RouteChoice.Pick(table, Counter, 0, 0, n => n == "a2" ? 10 : 0).Node?.NodeId);

        // The other workload on the same nodes: the nodes' own weights (equal), so the draw spreads them.
        Assert.Equal(100, RouteChoice.Pick(table, "other", 0, 0, Idle).Node?.Weight);
    }

    [Fact]
    public void Weights_NodeAtZero_TakesNoneOfTheWorkload_NodeLeftOutWeighsOne()
    {
        var table = Weighed(new Dictionary<string, int> { ["a1"] = 0, ["a2"] = 3 }, "a1", "a2", "a3");

        for (var draw = 0.0; draw < 1; draw += 0.1)
        {
            Assert.NotEqual("a1", RouteChoice.Pick(table, Counter, 0, draw, Idle).Node?.NodeId);
        }

        Assert.Equal(1, RouteChoice.Pick(table, Counter, 0, 0, n => n == "a2" ? 5 : 0).Node?.Weight);
        Assert.Equal("a3", RouteChoice.Pick(table, Counter, 0, 0, n => n == "a2" ? 5 : 0).Node?.NodeId);
    }

    [Fact]
    public void Weights_EveryNodeAtZero_Refused_WithTheTableInTheReason()
    {
        var table = Weighed(new Dictionary<string, int> { ["a1"] = 0 }, "a1");

        var pick = RouteChoice.Pick(table, Counter, 0, 0, Idle);

        Assert.Null(pick.Node);
        Assert.Contains("weighing more than 0 in its load-balancing table", pick.Reason, StringComparison.Ordinal);
    }
}
