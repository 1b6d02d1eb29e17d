using Drover.Aggregator.Clusters;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.Events;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Tests.State;
using Drover.Gateway;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.Clusters;

public sealed class ClusterHealthMonitorTests : IDisposable
{
    private readonly TempDirectory _data = new();
    private readonly FakeTimeProvider _time = new();
    private readonly NodeTable _nodes;
    private readonly GatewayRoutingTable _routes = new();
    private readonly ClusterHealthMonitor _monitor;

    public ClusterHealthMonitorTests()
    {
        var options = new AggregatorOptions { DataDirectory = _data.Path };
        _nodes = new NodeTable(_time);
        _nodes.Register(Fleet.NodeTableTests.Node("a", 1), Guid.NewGuid());
        _monitor = new ClusterHealthMonitor(
            _nodes,
            new InstanceTable(_time),
            new ClusterRegistry(options),
            new EventHub(options, NullLogger<EventHub>.Instance),
            _routes,
            options,
            _time,
            NullLogger<ClusterHealthMonitor>.Instance);
    }

    public void Dispose() => _data.Dispose();

    [Fact]
    public void Preview_HasNoEffect_NoCurrentDecisionNoHistoryNoTable()
    {
        var routesBefore = _routes.Current;

        var decision = _monitor.Preview();

        Assert.Single(decision.Clusters);
        Assert.Null(_monitor.Current);
        Assert.Same(routesBefore, _routes.Current);
    }

    [Fact]
    public async Task NextEvaluationAsync_CompletesWithTheNextEvaluationOnly()
    {
        var first = _monitor.Evaluate();
        var waiting = _monitor.NextEvaluationAsync();
        Assert.False(waiting.IsCompleted);

        var next = _monitor.Evaluate();

        Assert.True(waiting.IsCompletedSuccessfully);
        var answered = await waiting;
        Assert.Same(next, answered);
        Assert.NotSame(first, answered);
        Assert.Same(next, _monitor.Current);
    }
}
