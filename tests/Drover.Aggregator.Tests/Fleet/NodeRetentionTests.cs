using Drover.Aggregator.Fleet;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.Fleet;

public class NodeRetentionTests
{
    private static readonly TimeSpan Retention = TimeSpan.FromHours(1);

    private readonly FakeTimeProvider _time = new();
    private readonly NodeTable _nodes;
    private readonly InstanceTable _instances;

    public NodeRetentionTests()
    {
        _nodes = new NodeTable(_time);
        _instances = new InstanceTable(_time);
    }

    /// <summary>Registers a node, then leaves it as the case says.</summary>
    private void Add(string id, int serverNumber, bool lost, bool connected)
    {
        var connection = Guid.NewGuid();
        _nodes.Register(NodeTableTests.Node(id, serverNumber), connection);
        if (!connected)
        {
            _nodes.Disconnected(id, connection);
        }

        if (lost)
        {
            _nodes.MarkLost(id, _nodes.Snapshot().Single(n => n.NodeId == id).LastHeartbeatTimestamp);
        }
    }

    [Theory]
    [InlineData(true, false, 60, false, true)]
    [InlineData(true, false, 61, false, true)]
    [InlineData(true, false, 59, false, false)]
    [InlineData(true, false, 120, true, false)]
    [InlineData(true, true, 120, false, false)]
    [InlineData(false, false, 120, false, false)]
    [InlineData(false, true, 120, false, false)]
    public void ToForget_OneNode_OnlyLostSilentPastRetentionWithNoInstance(bool lost, bool connected, int silentMinutes, bool instanceAssigned, bool forgotten)
    {
        Add("a", 1, lost, connected);
        if (instanceAssigned)
        {
            _instances.Assign("fn-1", "fn", "a");
        }

        _time.Advance(TimeSpan.FromMinutes(silentMinutes));

        var forget = NodeRetention.ToForget(_nodes.Snapshot(), _instances.Snapshot(), Retention);

        Assert.Equal(forgotten ? ["a"] : Array.Empty<string>(), forget.Select(n => n.NodeId));
    }

    [Fact]
    public void ToForget_SeveralLostNodes_KeepsOnlyThoseHoldingInstances()
    {
        Add("a", 1, lost: true, connected: false);
        Add("b", 2, lost: true, connected: false);
        Add("c", 3, lost: true, connected: false);
        _instances.Assign("fn-1", "fn", "b");
        _time.Advance(TimeSpan.FromHours(2));

        var forget = NodeRetention.ToForget(_nodes.Snapshot(), _instances.Snapshot(), Retention);

        Assert.Equal(["a", "c"], forget.Select(n => n.NodeId));
    }

    [Fact]
    public void ToForget_Empty_ForgetsNothing()
        => Assert.Empty(NodeRetention.ToForget([], [], Retention));
}
