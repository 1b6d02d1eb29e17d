using Drover.Decisions.Balancing;
using static Drover.Decisions.Tests.Balancing.Lb;

namespace Drover.Decisions.Tests.Balancing;

public class LbCoordinationPairTests
{
    private static LbAssociation By(AssociationScope scope) => new(Function, Service, scope);

    // Containers and instances spread so that each scope pairs them differently.
    private static readonly LbPlacement[] Containers =
    [
        new("db2", "n2", "east", "s1"),
        new("db1", "n1", "east", "s0"),
        new("db3", "n3", "west", null),
    ];

    private static readonly LbPlacement[] Instances =
    [
        new("i-1", "n1", "west", "s1"),
        new("i-2", "n2", null, "s0"),
        new("i-9", "n9", "north", "s9"),
    ];

    public static TheoryData<AssociationScope, string[], int> ByScope => new()
    {
        // scope                     pairs (container=instance), sorted by container     conflicts
        { AssociationScope.Node,  ["db1=i-1", "db2=i-2"],                                0 },
        // db1 and db2 share site east, which no instance is at; db3 and i-1 share west; i-2's site is unknown.
        { AssociationScope.Site,  ["db3=i-1"],                                           0 },
        // db3's shard is unknown.
        { AssociationScope.Shard, ["db1=i-2", "db2=i-1"],                                0 },
    };

    [Theory]
    [MemberData(nameof(ByScope))]
    public void Pair_ByScope_SameKeyPairsOneToOne(AssociationScope scope, string[] expected, int conflicts)
    {
        var pairing = LbCoordination.Pair(By(scope), Containers, Instances);

        Assert.Equal(expected, pairing.Pairs.Select(p => $"{p.ContainerId}={p.FunctionInstanceId}"));
        Assert.Equal(conflicts, pairing.Conflicts.Count);
    }

    [Fact]
    public void Pair_TwoContainersOnOneInstancesNode_ConflictAndNoneOfThemPaired()
    {
        LbPlacement[] containers = [new("db1", "n1", null, null), new("db2", "n1", null, null), new("db3", "n3", null, null)];
        LbPlacement[] instances = [new("i-1", "n1", null, null), new("i-3", "n3", null, null)];

        var pairing = LbCoordination.Pair(By(AssociationScope.Node), containers, instances);

        Assert.Equal([new LbPair("db3", "i-3")], pairing.Pairs);
        var conflict = Assert.Single(pairing.Conflicts);
        Assert.Equal(Function, conflict.Function);
        Assert.Equal(Service, conflict.Service);
        Assert.Equal(
            "containers 'db1', 'db2' of service 'db' and function instance 'i-1' of function 'f' share node 'n1': "
            + "pairing more than one with one would be a guess, so none of them is paired.",
            conflict.Reason);
    }

    [Fact]
    public void Pair_OneContainerAndTwoInstances_ConflictNamingAllIds()
    {
        LbPlacement[] containers = [new("db1", null, null, "s0")];
        LbPlacement[] instances = [new("i-2", null, null, "s0"), new("i-1", null, null, "s0")];

        var pairing = LbCoordination.Pair(By(AssociationScope.Shard), containers, instances);

        Assert.Empty(pairing.Pairs);
        var reason = Assert.Single(pairing.Conflicts).Reason;
        Assert.Contains("container 'db1'", reason, StringComparison.Ordinal);
        Assert.Contains("function instances 'i-1', 'i-2'", reason, StringComparison.Ordinal);
        Assert.Contains("shard 's0'", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Pair_NullKeys_PairWithNothingAndNoConflict()
    {
        LbPlacement[] containers = [new("db1", null, null, null), new("db2", null, null, null)];
        LbPlacement[] instances = [new("i-1", null, null, null)];

        var pairing = LbCoordination.Pair(By(AssociationScope.Node), containers, instances);

        Assert.Empty(pairing.Pairs);
        Assert.Empty(pairing.Conflicts);
    }

    [Fact]
    public void Pair_SeveralContainersOnANodeWithoutInstances_NoConflict()
    {
        LbPlacement[] containers = [new("db1", "n1", null, null), new("db2", "n1", null, null)];

        var pairing = LbCoordination.Pair(By(AssociationScope.Node), containers, [new LbPlacement("i-1", "n2", null, null)]);

        Assert.Empty(pairing.Pairs);
        Assert.Empty(pairing.Conflicts);
    }

    [Fact]
    public void Pair_IdPlacedOnTwoNodes_ConflictAndNotPaired()
    {
        LbPlacement[] containers = [new("db1", "n1", null, null), new("db1", "n2", null, null), new("db2", "n2", null, null)];
        LbPlacement[] instances = [new("i-1", "n1", null, null), new("i-2", "n2", null, null), new("i-2", "n2", null, null)];

        var pairing = LbCoordination.Pair(By(AssociationScope.Node), containers, instances);

        // db1 is on two nodes: out. i-2 is listed twice on the same node: one placement. db2 pairs with it.
        Assert.Equal([new LbPair("db2", "i-2")], pairing.Pairs);
        Assert.Equal("Container 'db1' is placed on more than one node ('n1', 'n2'), so it is not paired.", Assert.Single(pairing.Conflicts).Reason);
    }

    [Fact]
    public void Pair_Many_SortedByContainerIdOrdinal()
    {
        var containers = new[] { "b", "B", "a", "a10", "a2" }.Select(id => new LbPlacement(id, $"n-{id}", null, null)).ToArray();
        var instances = containers.Reverse().Select(c => new LbPlacement($"i-{c.Id}", c.Node, null, null)).ToArray();

        var pairing = LbCoordination.Pair(By(AssociationScope.Node), containers, instances);

        Assert.Equal(["B", "a", "a10", "a2", "b"], pairing.Pairs.Select(p => p.ContainerId));
        Assert.All(pairing.Pairs, p => Assert.Equal($"i-{p.ContainerId}", p.FunctionInstanceId));
    }

    [Fact]
    public void Pair_EmptyLists_Nothing()
    {
        var pairing = LbCoordination.Pair(By(AssociationScope.Site), [], []);

        Assert.Empty(pairing.Pairs);
        Assert.Empty(pairing.Conflicts);
    }

    [Fact]
    public void Pair_BadArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>("association", () => LbCoordination.Pair(null!, [], []));
        Assert.Throws<ArgumentNullException>("containers", () => LbCoordination.Pair(By(AssociationScope.Node), null!, []));
        Assert.Throws<ArgumentNullException>("functionInstances", () => LbCoordination.Pair(By(AssociationScope.Node), [], null!));
        Assert.Throws<ArgumentException>("association", () => LbCoordination.Pair(By((AssociationScope)7), [], []));
        Assert.Throws<ArgumentException>("containers", () => LbCoordination.Pair(By(AssociationScope.Node), [null!], []));
    }
}
