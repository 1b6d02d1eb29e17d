using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Link;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.Fleet;

public class LivenessMonitorTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly NodeTable _table;
    private readonly AgentConnections _connections = new();
    private readonly LivenessMonitor _monitor;
    private readonly Guid _connection = Guid.NewGuid();

    public LivenessMonitorTests()
    {
        _table = new NodeTable(_time);
        var options = new AggregatorOptions { HeartbeatIntervalMs = 1000, MissedHeartbeats = 3, MonitorPeriodMs = 1000 };
        _monitor = new LivenessMonitor(_table, _connections, options, _time, NullLogger<LivenessMonitor>.Instance);
        _table.Register(NodeTableTests.Node("a", 1), _connection);
    }

    private NodeSurvival Survival => _table.Snapshot()[0].Survival;

    [Fact]
    public void Evaluate_OneMillisecondBeforeLease_NodeStaysAlive()
    {
        _time.Advance(TimeSpan.FromMilliseconds(2999));

        var next = _monitor.Evaluate();

        Assert.Equal(NodeSurvival.Alive, Survival);
        Assert.Equal(TimeSpan.FromMilliseconds(1), next);
    }

    [Fact]
    public void Evaluate_AtLease_NodeIsLost()
    {
        _time.Advance(TimeSpan.FromSeconds(3));

        _monitor.Evaluate();

        Assert.Equal(NodeSurvival.Lost, Survival);
    }

    [Fact]
    public void Evaluate_AtLease_AbortsTheLostNodesStreamOnly()
    {
        var stream = new AgentConnection("a", _connection, time: _time);
        var other = new AgentConnection("b", Guid.NewGuid(), time: _time);
        _connections.Add(stream);
        _connections.Add(other);
        _time.Advance(TimeSpan.FromSeconds(2));
        _monitor.Evaluate();
        Assert.False(stream.Aborted.IsCancellationRequested);

        _time.Advance(TimeSpan.FromSeconds(1));
        _monitor.Evaluate();

        Assert.True(stream.Aborted.IsCancellationRequested);
        Assert.Contains("marked lost", stream.AbortReason, StringComparison.Ordinal);
        Assert.False(stream.TrySend(new Drover.Protocol.V1.AggregatorMessage()));
        Assert.False(other.Aborted.IsCancellationRequested);
    }

    [Fact]
    public void Evaluate_HeartbeatsEveryInterval_NeverLost()
    {
        for (var i = 1; i <= 20; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(1000));
            _table.RecordHeartbeat("a", _connection, (ulong)i, NodeSurvival.Alive, out _);
            _monitor.Evaluate();
            Assert.Equal(NodeSurvival.Alive, Survival);
        }
    }

    [Fact]
    public void Evaluate_TwoHeartbeatsMissed_NotLostThenLostAtThird()
    {
        _time.Advance(TimeSpan.FromSeconds(1));
        _table.RecordHeartbeat("a", _connection, 1, NodeSurvival.Alive, out _);
        _time.Advance(TimeSpan.FromMilliseconds(2500));
        _monitor.Evaluate();
        Assert.Equal(NodeSurvival.Alive, Survival);

        _time.Advance(TimeSpan.FromMilliseconds(500));
        _monitor.Evaluate();

        Assert.Equal(NodeSurvival.Lost, Survival);
    }

    [Fact]
    public void Evaluate_DisconnectedButWithinLease_NotLostYet()
    {
        _table.Disconnected("a", _connection);
        _time.Advance(TimeSpan.FromSeconds(2));

        _monitor.Evaluate();

        Assert.Equal(NodeSurvival.Alive, Survival);
    }

    [Fact]
    public async Task ExecuteAsync_TimeReachesLease_MarksLost()
    {
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _monitor.NodeLost += () => lost.TrySetResult();
        await _monitor.StartAsync(CancellationToken.None);
        try
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            _table.RecordHeartbeat("a", _connection, 1, NodeSurvival.Alive, out _);

            // Up to the lease (3 s after the heartbeat) the node is alive whatever the loop has done:
            // the rule is on the fake clock. Evaluate_AtLease_NodeIsLost pins the exact moment.
            for (var i = 0; i < 29; i++)
            {
                _time.Advance(TimeSpan.FromMilliseconds(100));
                await Task.Yield();
                Assert.Equal(NodeSurvival.Alive, Survival);
            }

            // From the lease on, the loop marks it lost at its next wake. Its wait is armed on the
            // thread pool after each evaluation, so the clock moves on in steps until it has woken
            // (a bounded number of steps, not a deadline on the real clock).
            for (var step = 0; step < 1000 && !lost.Task.IsCompleted; step++)
            {
                _time.Advance(TimeSpan.FromMilliseconds(100));
                await Task.WhenAny(lost.Task, Task.Delay(5, CancellationToken.None));
            }

            Assert.True(lost.Task.IsCompleted, "the loop never marked the node lost");
            Assert.Equal(NodeSurvival.Lost, Survival);
            Assert.True(_table.Snapshot()[0].SinceLastHeartbeat >= TimeSpan.FromSeconds(3));
        }
        finally
        {
            await _monitor.StopAsync(CancellationToken.None);
        }
    }
}
