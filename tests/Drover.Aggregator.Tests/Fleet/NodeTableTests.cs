using Drover.Aggregator.Fleet;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.Fleet;

public class NodeTableTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly NodeTable _table;

    public NodeTableTests()
    {
        _table = new NodeTable(_time);
    }

    /// <summary>A node of a current agent (one that answers survival probes).</summary>
    internal static NodeIdentity Node(string id, int serverNumber, string cluster = "c1", int port = 7411)
        => new(id, serverNumber, port, cluster, new Dictionary<string, string>(), "0.1.0", "host", GpuTelemetryState.Unknown, 0, AnswersProbes: true);

    [Fact]
    public void Register_NewNode_IsAliveAndConnected()
    {
        var result = _table.Register(Node("a", 1), Guid.NewGuid());

        Assert.True(result.Accepted);
        var view = Assert.Single(_table.Snapshot());
        Assert.Equal(NodeSurvival.Alive, view.Survival);
        Assert.True(view.Connected);
    }

    [Fact]
    public void Register_ServerNumberHeldByLiveNode_IsRefusedNamingTheField()
    {
        _table.Register(Node("a", 1), Guid.NewGuid());

        var result = _table.Register(Node("b", 1), Guid.NewGuid());

        Assert.False(result.Accepted);
        Assert.Equal("serverNumber", result.Field);
        Assert.Contains("'a'", result.Reason, StringComparison.Ordinal);
        Assert.Single(_table.Snapshot());
    }

    [Fact]
    public void Register_SameServerNumberOtherCluster_IsAccepted()
    {
        _table.Register(Node("a", 1, "c1"), Guid.NewGuid());

        Assert.True(_table.Register(Node("b", 1, "c2"), Guid.NewGuid()).Accepted);
    }

    [Fact]
    public void Register_ServerNumberHeldByLostNode_TakesItOver()
    {
        _table.Register(Node("a", 1), Guid.NewGuid());
        var held = Assert.Single(_table.Snapshot());
        Assert.True(_table.MarkLost("a", held.LastHeartbeatTimestamp));

        var result = _table.Register(Node("b", 1), Guid.NewGuid());

        Assert.True(result.Accepted);
        Assert.Equal("b", Assert.Single(_table.Snapshot()).NodeId);
    }

    [Fact]
    public void Register_SameNodeAgain_ReplacesItsStream()
    {
        var first = Guid.NewGuid();
        var second = Guid.NewGuid();
        _table.Register(Node("a", 1), first);

        Assert.True(_table.Register(Node("a", 1), second).Accepted);
        Assert.False(_table.RecordHeartbeat("a", first, 1, NodeSurvival.Alive, out _));
        Assert.True(_table.RecordHeartbeat("a", second, 1, NodeSurvival.Alive, out _));
    }

    [Fact]
    public void RecordHeartbeat_AfterLost_BringsNodeBack()
    {
        var connection = Guid.NewGuid();
        _table.Register(Node("a", 1), connection);
        _time.Advance(TimeSpan.FromSeconds(5));
        _table.MarkLost("a", _table.Snapshot()[0].LastHeartbeatTimestamp);

        Assert.True(_table.RecordHeartbeat("a", connection, 7, NodeSurvival.Draining, out var wasLost));

        Assert.True(wasLost);
        var view = Assert.Single(_table.Snapshot());
        Assert.Equal(NodeSurvival.Draining, view.Survival);
        Assert.Equal(7UL, view.LastSequence);
        Assert.Equal(TimeSpan.Zero, view.SinceLastHeartbeat);
    }

    [Fact]
    public void MarkLost_HeartbeatArrivedAfterSnapshot_DoesNothing()
    {
        var connection = Guid.NewGuid();
        _table.Register(Node("a", 1), connection);
        var stale = _table.Snapshot()[0];
        _time.Advance(TimeSpan.FromMilliseconds(10));
        _table.RecordHeartbeat("a", connection, 1, NodeSurvival.Alive, out _);

        Assert.False(_table.MarkLost("a", stale.LastHeartbeatTimestamp));
        Assert.Equal(NodeSurvival.Alive, _table.Snapshot()[0].Survival);
    }

    [Fact]
    public void Disconnected_OldStream_KeepsTheCurrentOne()
    {
        var old = Guid.NewGuid();
        var current = Guid.NewGuid();
        _table.Register(Node("a", 1), old);
        _table.Register(Node("a", 1), current);

        _table.Disconnected("a", old);

        Assert.True(_table.Snapshot()[0].Connected);
    }

    [Fact]
    public void Snapshot_OrdersByClusterThenServerNumber()
    {
        _table.Register(Node("x", 2, "c2"), Guid.NewGuid());
        _table.Register(Node("y", 2, "c1"), Guid.NewGuid());
        _table.Register(Node("z", 1, "c2"), Guid.NewGuid());

        Assert.Equal(["y", "z", "x"], _table.Snapshot().Select(n => n.NodeId));
    }

    [Fact]
    public void Forget_LostNode_LeavesTheTableAndRaisesChanged()
    {
        _table.Register(Node("a", 1), Guid.NewGuid());
        _table.Register(Node("b", 2), Guid.NewGuid());
        _table.MarkLost("a", _table.Snapshot()[0].LastHeartbeatTimestamp);
        var changed = 0;
        _table.Changed += () => changed++;

        Assert.Equal(ForgetOutcome.Forgotten, _table.Forget("a"));

        Assert.Equal("b", Assert.Single(_table.Snapshot()).NodeId);
        Assert.Equal(1, changed);
    }

    [Fact]
    public void Forget_LiveOrUnknownNode_KeptAndSaidWhy()
    {
        _table.Register(Node("a", 1), Guid.NewGuid());

        Assert.Equal(ForgetOutcome.NotLost, _table.Forget("a"));
        Assert.Equal(ForgetOutcome.Unknown, _table.Forget("zz"));
        Assert.Single(_table.Snapshot());
    }
}
