using Drover.Decisions.Placement;

namespace Drover.Decisions.Tests.Placement;

public class InstanceFollowUpTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static FollowUpInstance Instance(bool confirmed = true, string version = "1", double assignedSecondsAgo = 60, double? resentSecondsAgo = null, string node = "a", string function = "f")
        => new("i1", function, node, confirmed, version, TimeSpan.FromSeconds(assignedSecondsAgo), resentSecondsAgo is null ? null : TimeSpan.FromSeconds(resentSecondsAgo.Value));

    private static IReadOnlyList<FollowUpAction> Decide(FollowUpInstance[] instances, FollowUpStaleCopy[]? stale = null, string version = "1", string[]? connected = null, FollowUpPendingStop[]? stops = null)
        => InstanceFollowUp.Decide(new FollowUpSnapshot(
            instances,
            stale ?? [],
            stops ?? [],
            new Dictionary<string, string> { ["f"] = version },
            (connected ?? ["a", "b"]).ToHashSet(),
            Timeout));

    [Fact]
    public void Decide_ConfirmedCurrentVersion_NothingToDo()
        => Assert.Empty(Decide([Instance()]));

    [Theory]
    [InlineData(9.9, false)]
    [InlineData(10, true)]
    public void Decide_Unconfirmed_ResentOnlyAfterTheTimeout(double assignedSecondsAgo, bool resent)
        => Assert.Equal(resent, Decide([Instance(confirmed: false, version: "", assignedSecondsAgo: assignedSecondsAgo)]).Any(a => a.Kind == FollowUpKind.Resend));

    [Fact]
    public void Decide_ResentRecently_NotAgainUntilTheTimeout()
    {
        Assert.Empty(Decide([Instance(confirmed: false, resentSecondsAgo: 3)]));
        Assert.Single(Decide([Instance(confirmed: false, resentSecondsAgo: 10)]));
    }

    [Fact]
    public void Decide_OldFunctionVersion_IsResentNamingBoth()
    {
        var action = Assert.Single(Decide([Instance(version: "1")], version: "2"));

        Assert.Equal(FollowUpKind.Resend, action.Kind);
        Assert.Contains("'1'", action.Reason, StringComparison.Ordinal);
        Assert.Contains("'2'", action.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_NodeNotConnected_NothingIsSentThere()
        => Assert.Empty(Decide([Instance(confirmed: false)], connected: ["b"]));

    [Fact]
    public void Decide_StaleCopyOnConnectedNode_IsStoppedOncePerTimeout()
    {
        Assert.Equal(FollowUpKind.StopStaleCopy, Assert.Single(Decide([], [new("i1", "b", "f", null)])).Kind);
        Assert.Empty(Decide([], [new("i1", "b", "f", TimeSpan.FromSeconds(2))]));
        Assert.Empty(Decide([], [new("i1", "c", "f", null)]));
    }

    /// <summary>A deleted function's instance is stopped for good whether or not its node is reachable: the stop stays pending until the node acknowledges it.</summary>
    [Theory]
    [InlineData("a")]
    [InlineData("b")]
    public void Decide_FunctionDeleted_StopsForGoodReachableOrNot(string connected)
        => Assert.Equal([FollowUpKind.StopDeleted], Decide([Instance(function: "gone")], connected: [connected]).Select(a => a.Kind));

    /// <summary>Rows: the stop's node is connected, seconds since it was last sent (-1: not since start); resent.</summary>
    [Theory]
    [InlineData(true, -1, true)]
    [InlineData(true, 9.9, false)]
    [InlineData(true, 10, true)]
    [InlineData(false, -1, false)]
    [InlineData(false, 60, false)]
    public void Decide_PendingStop_ResentToItsConnectedNodeOncePerTimeout(bool connected, double sinceLastStop, bool resent)
    {
        var stop = new FollowUpPendingStop("i9", "b", "f", DeleteState: true, sinceLastStop < 0 ? null : TimeSpan.FromSeconds(sinceLastStop));

        var actions = Decide([], connected: connected ? ["b"] : ["a"], stops: [stop]);

        Assert.Equal(resent ? [FollowUpKind.ResendStop] : [], actions.Select(a => a.Kind));
        Assert.All(actions, a => Assert.Equal(("i9", "b"), (a.InstanceId, a.NodeId)));
    }

    [Fact]
    public void Decide_RetiredServiceSet_StopsItsInstancesSayingSo()
    {
        var actions = Decide([Instance(function: "service/web@1")]);

        Assert.Equal([FollowUpKind.StopDeleted], actions.Select(a => a.Kind));
        Assert.Contains("no longer a set of its service", actions[0].Reason, StringComparison.Ordinal);
    }
}
