using Drover.Decisions.Balancing;

namespace Drover.Decisions.Tests.Balancing;

public class LbCoordinationCyclesTests
{
    /// <summary>Associations written "function-service", by node unless followed by ":site" or ":shard".</summary>
    private static LbAssociation[] Parse(string[] edges) => edges.Select(e =>
    {
        var (pair, scope) = e.Split(':') is [var p, var s] ? (p, Enum.Parse<AssociationScope>(s, ignoreCase: true)) : (e, AssociationScope.Node);
        var ends = pair.Split('-');
        return new LbAssociation(ends[0], ends[1], scope);
    }).ToArray();

    public static TheoryData<string, string[], string[]> Cases => new()
    {
        { "none", [], [] },
        { "one association", ["f1-s1"], [] },
        { "a tree: a function with two services, a service with two functions", ["f1-s1", "f1-s2", "f2-s1", "f3-s2"], [] },
        { "same pair by two scopes is one edge", ["f1-s1", "f1-s1:site", "f1-s1:shard"], [] },
        { "f1-s1-f2-s2-f1", ["f1-s1", "f2-s1", "f2-s2", "f1-s2"], ["f1-s1", "f1-s2", "f2-s1", "f2-s2"] },
        { "a loop with a pendant edge: only the loop", ["f1-s1", "f2-s1", "f2-s2", "f1-s2", "f3-s2", "f3-s3"], ["f1-s1", "f1-s2", "f2-s1", "f2-s2"] },
        { "a loop through a pair given twice", ["f1-s1", "f1-s1:shard", "f2-s1", "f2-s2", "f1-s2"], ["f1-s1", "f1-s2", "f2-s1", "f2-s2"] },
        { "two loops joined by a bridge", ["a-x", "b-x", "a-y", "b-y", "b-z", "c-z", "c-w", "d-w", "c-v", "d-v"],
            ["a-x", "a-y", "b-x", "b-y", "c-v", "c-w", "d-v", "d-w"] },
        { "a six-cycle", ["f1-s1", "f2-s1", "f2-s2", "f3-s2", "f3-s3", "f1-s3"], ["f1-s1", "f1-s3", "f2-s1", "f2-s2", "f3-s2", "f3-s3"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Cycles_Graph_ReportsEveryEdgeOnALoopOnce(string name, string[] associations, string[] expected)
    {
        var conflicts = LbCoordination.Cycles(Parse(associations));

        Assert.Equal(expected, conflicts.Select(c => $"{c.Function}-{c.Service}"));
        Assert.All(conflicts, c => Assert.Contains("cycle", c.Reason, StringComparison.Ordinal));
        Assert.False(string.IsNullOrEmpty(name));
    }

    [Fact]
    public void Cycles_SquareLoop_ReasonNamesTheLoop()
    {
        var conflicts = LbCoordination.Cycles(Parse(["f1-s1", "f2-s1", "f2-s2", "f1-s2"]));

        Assert.Equal(
            "Function 'f1' and service 's1' lie on a cycle of associations "
            + "(function 'f1' - service 's1' - function 'f2' - service 's2' - function 'f1'), "
            + "where each table would be generated from the other, so they are not coordinated.",
            conflicts[0].Reason);
    }

    [Fact]
    public void Cycles_InputOrder_DoesNotChangeTheAnswer()
    {
        string[] edges = ["f1-s1", "f2-s1", "f2-s2", "f1-s2", "f3-s2", "f3-s3", "f4-s3", "f4-s2"];
        var expected = LbCoordination.Cycles(Parse(edges));

        var shuffled = LbCoordination.Cycles(Parse(edges.Reverse().ToArray()));

        Assert.Equal(expected, shuffled);
    }

    [Fact]
    public void Cycles_BadArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>("associations", () => LbCoordination.Cycles(null!));
        Assert.Throws<ArgumentException>("associations", () => LbCoordination.Cycles([null!]));
        Assert.Throws<ArgumentException>("associations", () => LbCoordination.Cycles([new LbAssociation("f", "s", (AssociationScope)5)]));
    }

    public static TheoryData<string, string[], string[]> ExcludedCases => new()
    {
        { "one service per function", ["f1-s1", "f2-s1", "f3-s2"], [] },
        { "same pair by two scopes is one service", ["f1-s1", "f1-s1:shard"], [] },
        { "a function with two services", ["f1-s1", "f1-s2", "f2-s1"], ["f1-s1", "f1-s2"] },
        { "a cycle, then the rest of a function's services", ["f1-s1", "f2-s1", "f2-s2", "f1-s2", "f1-s3"], ["f1-s1", "f1-s2", "f2-s1", "f2-s2", "f1-s3"] },
    };

    [Theory]
    [MemberData(nameof(ExcludedCases))]
    public void Excluded_CyclesThenFunctionsWithSeveralServices(string name, string[] edges, string[] expected)
    {
        var excluded = LbCoordination.Excluded(Parse(edges));

        Assert.True(expected.SequenceEqual(excluded.Select(c => $"{c.Function}-{c.Service}")), $"{name}: {string.Join(", ", excluded.Select(c => $"{c.Function}-{c.Service}"))}");
        Assert.All(excluded.Skip(excluded.Count(c => c.Reason.Contains("cycle", StringComparison.Ordinal))),
            c => Assert.Contains("more than one service", c.Reason, StringComparison.Ordinal));
    }

    [Fact]
    public void NodeWeights_ReadyEntriesSummedPerNode_OthersWeighNothing_UnknownLeftOut()
    {
        var table = new LbTable(LbSide.Function, "f", 1, "p",
            [new("i-1", 3, LbEntryState.Ready), new("i-2", 4, LbEntryState.Ready), new("i-3", 9, LbEntryState.Maint), new("i-4", 5, LbEntryState.Drain), new("i-5", 7, LbEntryState.Ready)]);
        var nodeOf = new Dictionary<string, string> { ["i-1"] = "a", ["i-2"] = "a", ["i-3"] = "b", ["i-4"] = "c" };

        var weights = LbCoordination.NodeWeights(table, nodeOf);

        Assert.Equal(new Dictionary<string, int> { ["a"] = 7, ["b"] = 0, ["c"] = 0 }, weights);
    }
}
