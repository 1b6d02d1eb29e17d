using Drover.Decisions.Placement;

namespace Drover.Decisions.Tests.Placement;

public class InstancePlacementTests
{
    private static PlacementNode Alive(string id, string cluster = "c1", int server = 1) => new(id, cluster, server, Survives: true, Lost: false);

    private static PlacementNode Lost(string id, string cluster = "c1", int server = 1) => new(id, cluster, server, Survives: false, Lost: true);

    private static IReadOnlyList<PlacementAction> Decide(PlacementNode[] nodes, string[] functions, params PlacementInstance[] instances)
        => InstancePlacement.Decide(new PlacementSnapshot(nodes, functions.Select(f => new PlacementFunction(f)).ToArray(), instances));

    [Fact]
    public void Decide_NoNodes_NothingToDo()
        => Assert.Empty(Decide([], ["counter"]));

    [Fact]
    public void Decide_EveryNodeWithoutInstance_StartsOneOnEach()
    {
        var actions = Decide([Alive("a", server: 1), Alive("b", server: 2), Alive("c", server: 3)], ["counter"]);

        Assert.Equal(["a", "b", "c"], actions.Select(a => a.ToNodeId));
        Assert.All(actions, a => Assert.Equal(PlacementActionKind.Start, a.Kind));
    }

    [Fact]
    public void Decide_AllPlaced_NothingToDo()
        => Assert.Empty(Decide([Alive("a"), Alive("b", server: 2)], ["counter"], new("i1", "counter", "a"), new("i2", "counter", "b")));

    [Fact]
    public void Decide_CountedAtItsCountWithOneOnALostNode_OnlyMovesIt()
    {
        // How the reconciler hands placement an autoscaled function: its count as it stands, so the
        // counted rule neither adds nor removes, and the lost node's instance is moved exactly once.
        var snapshot = new PlacementSnapshot(
            [Alive("a"), Lost("b", server: 2), Alive("c", server: 3), Alive("d", server: 4)],
            [new PlacementFunction("counter", 3)],
            [new("i1", "counter", "a"), new("i2", "counter", "b"), new("i3", "counter", "c")]);

        var action = Assert.Single(InstancePlacement.Decide(snapshot));

        Assert.Equal((PlacementActionKind.Move, "i2", "b"), (action.Kind, action.InstanceId!, action.FromNodeId!));
    }

    [Fact]
    public void Decide_CountedAtItsCount_NothingToDo()
        => Assert.Empty(InstancePlacement.Decide(new PlacementSnapshot(
            [Alive("a"), Alive("b", server: 2), Alive("c", server: 3)],
            [new PlacementFunction("counter", 2)],
            [new("i1", "counter", "a"), new("i2", "counter", "b")])));

    [Fact]
    public void Decide_NodeNotSurviving_GetsNoNewInstance()
    {
        var draining = new PlacementNode("b", "c1", 2, Survives: false, Lost: false);

        var actions = Decide([Alive("a"), draining], ["counter"]);

        Assert.Equal("a", Assert.Single(actions).ToNodeId);
    }

    [Fact]
    public void Decide_NodeLost_InstanceMovesToSameClusterBeforeFewerLoadedOtherCluster()
    {
        var actions = Decide(
            [Lost("x", "c1", 1), Alive("y", "c1", 2), Alive("z", "c2", 1)],
            ["counter", "other"],
            new("i1", "counter", "x"),
            new("i2", "counter", "y"),
            new("i3", "other", "y"),
            new("i4", "other", "z"));

        var move = Assert.Single(actions, a => a.Kind == PlacementActionKind.Move);
        Assert.Equal("i1", move.InstanceId);
        Assert.Equal("x", move.FromNodeId);
        Assert.Equal("y", move.ToNodeId);
        Assert.Contains("its home cluster", move.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_NodeLostWholeClusterDown_MovesToOtherClusterFewestInstancesFirst()
    {
        var actions = Decide(
            [Lost("x", "c1"), Alive("y", "c2", 1), Alive("z", "c2", 2)],
            ["counter"],
            new("i1", "counter", "x"),
            new("i2", "counter", "y"),
            new("i3", "counter", "z"),
            new("i4", "counter", "y"));

        var move = Assert.Single(actions);
        Assert.Equal(PlacementActionKind.Move, move.Kind);
        Assert.Equal("z", move.ToNodeId);
        Assert.Contains("no node of 'c1' or its backups survives", move.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_TwoInstancesLost_SpreadOverSurvivorsByLoad()
    {
        var actions = Decide(
            [Lost("x"), Alive("y", server: 2), Alive("z", server: 3)],
            ["f"],
            new("i1", "f", "x"),
            new("i2", "f", "x"));

        Assert.Equal(["y", "z"], actions.Where(a => a.Kind == PlacementActionKind.Move).Select(a => a.ToNodeId).Order());
    }

    [Fact]
    public void Decide_NoSurvivor_RecordsShortfall()
    {
        var actions = Decide([Lost("x")], ["counter"], new PlacementInstance("i1", "counter", "x"));

        var shortfall = Assert.Single(actions);
        Assert.Equal(PlacementActionKind.Shortfall, shortfall.Kind);
        Assert.Null(shortfall.ToNodeId);
    }

    [Fact]
    public void Decide_MovedInstanceCountsTowardOnePerNode_NoExtraStart()
    {
        // x is lost; its instance moves to y. Two survivors, two instances: nothing new is started.
        var actions = Decide([Lost("x"), Alive("y", server: 2), Alive("z", server: 3)], ["f"], new("i1", "f", "x"), new("i2", "f", "z"));

        Assert.DoesNotContain(actions, a => a.Kind == PlacementActionKind.Start);
        Assert.Equal("y", Assert.Single(actions).ToNodeId);
    }

    [Fact]
    public void Decide_Randomized_InvariantsHold()
    {
        var random = new Random(20261124);
        for (var round = 0; round < 500; round++)
        {
            var nodes = Enumerable.Range(0, random.Next(0, 8))
                .Select(i => new PlacementNode($"n{i}", $"c{random.Next(2)}", i, random.Next(4) != 0, random.Next(5) == 0))
                .Select(n => n.Lost ? n with { Survives = false } : n)
                .ToArray();
            var functions = Enumerable.Range(0, random.Next(1, 3)).Select(i => $"f{i}").ToArray();
            var instances = nodes.Length == 0 ? [] : Enumerable.Range(0, random.Next(0, 6))
                .Select(i => new PlacementInstance($"i{i}", functions[random.Next(functions.Length)], nodes[random.Next(nodes.Length)].NodeId))
                .ToArray();

            var actions = Decide(nodes, functions, instances);

            var survivors = nodes.Where(n => n.Survives).Select(n => n.NodeId).ToHashSet();
            // Nothing is ever placed on a node that does not survive.
            Assert.All(actions.Where(a => a.ToNodeId is not null), a => Assert.Contains(a.ToNodeId!, survivors));
            // Every instance of a lost node is moved or reported short, exactly once.
            var lost = nodes.Where(n => n.Lost).Select(n => n.NodeId).ToHashSet();
            foreach (var instance in instances.Where(i => lost.Contains(i.NodeId)))
            {
                Assert.Single(actions, a => a.InstanceId == instance.InstanceId);
            }

            // Starts never take a function above one instance per survivor.
            foreach (var function in functions)
            {
                var starts = actions.Count(a => a.Kind == PlacementActionKind.Start && a.Function == function);
                var existing = instances.Count(i => i.Function == function);
                Assert.True(starts == 0 || existing + starts <= survivors.Count);
            }
        }
    }

    [Fact]
    public void Decide_CountedWorkload_SpreadsOverNodesWithFewestOfIt()
    {
        var snapshot = new PlacementSnapshot(
            [Alive("a", server: 1), Alive("b", server: 2), Alive("c", server: 3)],
            [new PlacementFunction("service/web@1", 4)],
            [new PlacementInstance("w1", "service/web@1", "a")]);

        var actions = InstancePlacement.Decide(snapshot);

        Assert.All(actions, a => Assert.Equal(PlacementActionKind.Start, a.Kind));
        Assert.Equal(["b", "c", "a"], actions.Select(a => a.ToNodeId));
    }

    [Fact]
    public void Decide_CountedWorkloadOverItsCount_RemovesFromTheNodeHoldingMost()
    {
        var snapshot = new PlacementSnapshot(
            [Alive("a", server: 1), Alive("b", server: 2)],
            [new PlacementFunction("service/web@1", 1)],
            [new PlacementInstance("w1", "service/web@1", "a"), new PlacementInstance("w2", "service/web@1", "b"), new PlacementInstance("w3", "service/web@1", "b")]);

        var actions = InstancePlacement.Decide(snapshot);

        Assert.All(actions, a => Assert.Equal(PlacementActionKind.Remove, a.Kind));
        Assert.Equal(2, actions.Count);
        Assert.Equal(["w3", "w2"], actions.Select(a => a.InstanceId));
    }

    [Fact]
    public void Decide_CountedWorkloadNoSurvivor_Shortfall()
    {
        var snapshot = new PlacementSnapshot([Lost("a")], [new PlacementFunction("service/web@1", 2)], []);

        Assert.Equal(PlacementActionKind.Shortfall, Assert.Single(InstancePlacement.Decide(snapshot)).Kind);
    }

    private static IReadOnlyList<PlacementAction> DecideWithBackups(PlacementNode[] nodes, Dictionary<string, IReadOnlyList<string>> backups, params PlacementInstance[] instances)
        => InstancePlacement.Decide(new PlacementSnapshot(nodes, [new PlacementFunction("counter")], instances, backups));

    private static Dictionary<string, IReadOnlyList<string>> NoBackups() => new(StringComparer.Ordinal);

    public static TheoryData<string, string[], string?> LostNodeTargets => new()
    {
        // home cluster state (its backups), expected target node
        { "home serves: stays home", [], "a2" },
        { "home cannot serve: first backup", ["b", "c"], "b1" },
        { "first backup has no survivor: second", ["d", "c"], "c1" },
        { "no backup survives: any survivor, fewest instances", ["d"], "a2" },
    };

    [Theory]
    [MemberData(nameof(LostNodeTargets))]
    public void Decide_LostNodeWithBackups_Table(string name, string[] backupsOfA, string? expected)
    {
        var backups = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        if (backupsOfA.Length > 0)
        {
            backups["a"] = backupsOfA;
        }

        var actions = DecideWithBackups(
            [Lost("a1", "a", 1), Alive("a2", "a", 2), Alive("b1", "b", 1), Alive("c1", "c", 1), Lost("d1", "d", 1)],
            backups,
            new("i1", "counter", "a1"),
            new("i2", "counter", "b1"),
            new("i3", "counter", "c1"),
            new("i4", "counter", "a2"),
            new("i5", "counter", "b1"));

        var move = Assert.Single(actions, a => a.Kind == PlacementActionKind.Move);
        Assert.True(expected == move.ToNodeId, $"{name}: expected {expected}, got {move.ToNodeId} ({move.Reason})");
    }

    [Fact]
    public void Decide_HomeClusterServesAgain_InstanceAwayFailsBackToHomeNodeWithoutOne()
    {
        var actions = DecideWithBackups(
            [Alive("a1", "a", 1), Alive("a2", "a", 2), Alive("b1", "b", 1)],
            NoBackups(),
            new("i1", "counter", "b1", HomeCluster: "a"),
            new("i2", "counter", "a2", HomeCluster: "a"),
            new("i3", "counter", "b1", HomeCluster: "b"));

        var move = Assert.Single(actions);
        Assert.Equal((PlacementActionKind.Move, "i1", "b1", "a1"), (move.Kind, move.InstanceId, move.FromNodeId, move.ToNodeId));
        Assert.StartsWith("failback:", move.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_HomeClusterStillRecovering_InstanceStaysOnBackup()
        => Assert.Empty(DecideWithBackups(
            [Alive("a1", "a", 1), Alive("b1", "b", 1)],
            new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal) { ["a"] = ["b"] },
            new("i1", "counter", "b1", HomeCluster: "a"),
            new("i3", "counter", "b1", HomeCluster: "b")));

    [Fact]
    public void Decide_HomeClusterHasNoSurvivor_NoFailback()
        => Assert.DoesNotContain(
            DecideWithBackups([Lost("a1", "a", 1), Alive("b1", "b", 1)], NoBackups(), new PlacementInstance("i1", "counter", "b1", HomeCluster: "a")),
            a => a.Kind == PlacementActionKind.Move);

    [Fact]
    public void Decide_TwoAwayOneFreeHomeNode_OneFailsBackTheOtherWaitsForAFreeNode()
    {
        var actions = DecideWithBackups(
            [Alive("a1", "a", 1), Alive("a2", "a", 2), Alive("b1", "b", 1), Alive("b2", "b", 2)],
            NoBackups(),
            new("i1", "counter", "b1", HomeCluster: "a"),
            new("i2", "counter", "b2", HomeCluster: "a"),
            new("i3", "counter", "a2", HomeCluster: "a"),
            new("i4", "counter", "b1", HomeCluster: "b"),
            new("i5", "counter", "b2", HomeCluster: "b"));

        var move = Assert.Single(actions);
        Assert.Equal(("i1", "a1"), (move.InstanceId, move.ToNodeId));
    }

    [Fact]
    public void Decide_SecondCopyOnANodeAndANodeOfItsClusterWithNone_OneMovesThere()
    {
        var actions = DecideWithBackups(
            [Alive("a1", "a", 1), Alive("a2", "a", 2), Alive("a3", "a", 3)],
            NoBackups(),
            new("i1", "counter", "a1"),
            new("i2", "counter", "a1"),
            new("i3", "counter", "a2"));

        var move = Assert.Single(actions);
        Assert.Equal((PlacementActionKind.Move, "i1", "a1", "a3"), (move.Kind, move.InstanceId, move.FromNodeId, move.ToNodeId));
        Assert.StartsWith("rebalance:", move.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_CountedWorkloadTwoOnANode_NotRebalanced()
        => Assert.Empty(InstancePlacement.Decide(new PlacementSnapshot(
            [Alive("a1", "a", 1), Alive("a2", "a", 2)],
            [new PlacementFunction("service/web@1", 2)],
            [new PlacementInstance("i1", "service/web@1", "a1"), new PlacementInstance("i2", "service/web@1", "a1")],
            NoBackups())));

    [Fact]
    public void Decide_InstanceOfANodeNoLongerKnown_ResumesOnASurvivorOfItsHomeCluster()
    {
        var actions = DecideWithBackups(
            [Alive("a2", "a", 2), Alive("b1", "b", 1)],
            NoBackups(),
            new("i1", "counter", "forgotten", HomeCluster: "a"),
            new("i2", "counter", "a2", HomeCluster: "a"),
            new("i3", "counter", "b1", HomeCluster: "b"));

        var move = Assert.Single(actions, a => a.Kind == PlacementActionKind.Move);
        Assert.Equal(("i1", "forgotten", "a2"), (move.InstanceId, move.FromNodeId, move.ToNodeId));
    }
}
