using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.Fleet;

public sealed class LostNodePrunerTests : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly NodeTable _nodes;
    private readonly InstanceTable _instances;
    private readonly LostNodePruner _pruner;

    public LostNodePrunerTests()
    {
        _nodes = new NodeTable(_time);
        _instances = new InstanceTable(_time);
        _pruner = new LostNodePruner(_nodes, _instances, _time, new AggregatorOptions { LostNodeRetentionSeconds = 3600 }, NullLogger<LostNodePruner>.Instance);
    }

    public void Dispose() => _pruner.Dispose();

    private Guid LoseNode(string id, int serverNumber)
    {
        var connection = Guid.NewGuid();
        _nodes.Register(NodeTableTests.Node(id, serverNumber), connection);
        _nodes.Disconnected(id, connection);
        _nodes.MarkLost(id, _nodes.Snapshot().Single(n => n.NodeId == id).LastHeartbeatTimestamp);
        return connection;
    }

    [Fact]
    public void Prune_LostNodesPastRetention_ForgetsTheEmptyOneKeepsTheOneWithAnInstance()
    {
        LoseNode("empty", 1);
        LoseNode("holding", 2);
        _instances.Assign("fn-1", "fn", "holding");

        _time.Advance(TimeSpan.FromMinutes(59));
        var early = _pruner.Prune();
        _time.Advance(TimeSpan.FromMinutes(1));
        var due = _pruner.Prune();

        Assert.Empty(early);
        Assert.Equal(["empty"], due);
        Assert.Equal(["holding"], _nodes.Snapshot().Select(n => n.NodeId));
        Assert.Equal("holding", _instances.AssignedNode("fn-1"));
    }

    [Fact]
    public void Prune_ForgottenNode_DropsItsStaleCopiesAndMayRegisterAgain()
    {
        LoseNode("old", 1);
        LoseNode("new", 2);
        _instances.Assign("fn-1", "fn", "new");
        _instances.Record("old", new InstanceReport { InstanceId = "fn-1", Function = "fn", State = InstanceState.Running });
        Assert.Single(_instances.StaleCopies());
        _time.Advance(TimeSpan.FromHours(2));

        var forgotten = _pruner.Prune();

        Assert.Equal(["old"], forgotten);
        Assert.Empty(_instances.StaleCopies());
        Assert.True(_nodes.Register(NodeTableTests.Node("old", 1), Guid.NewGuid()).Accepted);
    }

    [Fact]
    public void ForgetLost_HeartbeatSinceTheSnapshot_KeepsTheNode()
    {
        LoseNode("a", 1);
        _time.Advance(TimeSpan.FromHours(2));
        var observed = _nodes.Snapshot().Single().LastHeartbeatTimestamp;
        var connection = Guid.NewGuid();
        _nodes.Register(NodeTableTests.Node("a", 1), connection);

        Assert.False(_nodes.ForgetLost("a", observed));
        Assert.Single(_nodes.Snapshot());
    }

    [Fact]
    public void Period_QuarterOfRetentionAtMostAMinute()
        => Assert.Equal(TimeSpan.FromMinutes(1), _pruner.Period);
}
