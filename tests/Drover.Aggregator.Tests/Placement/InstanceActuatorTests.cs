using Drover.Aggregator.Fleet;
using Drover.Aggregator.Functions;
using Drover.Aggregator.Link;
using Drover.Aggregator.Placement;
using Drover.Aggregator.State;
using Drover.Aggregator.Tests.State;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.Placement;

/// <summary>No node that does not read its stream holds up the commands of another (issue 13).</summary>
public sealed class InstanceActuatorTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(5);

    private readonly FakeTimeProvider _time = new();
    private readonly TempDirectory _data = new();
    private readonly SqliteStateStore _store;
    private readonly AgentConnections _connections = new();
    private readonly InstanceTable _instances;
    private readonly DecisionLog _decisions = new();
    private readonly CommandResults _results;
    private readonly InstanceActuator _actuator;
    private readonly Workload _counter = Workload.Of(new FunctionDefinition { Name = "counter" }, []);

    public InstanceActuatorTests()
    {
        _store = new SqliteStateStore(_data.Path, NullLogger<SqliteStateStore>.Instance);
        _instances = new InstanceTable(_time);
        _results = new CommandResults(_time);
        _actuator = new InstanceActuator(_instances, _connections, _results, _store, _decisions, _time, NullLogger<InstanceActuator>.Instance);
    }

    public void Dispose()
    {
        _store.Dispose();
        _data.Dispose();
    }

    private AgentConnection Connect(string nodeId)
    {
        var connection = new AgentConnection(nodeId, Guid.NewGuid(), SendTimeout, _time);
        _connections.Add(connection);
        return connection;
    }

    /// <summary>A node whose agent reads nothing: its outbox is full.</summary>
    private AgentConnection Stalled(string nodeId)
    {
        var connection = Connect(nodeId);
        while (connection.TrySend(new AggregatorMessage { ChannelEvent = new ChannelEvent() }))
        {
        }

        return connection;
    }

    private static List<string> StartsIn(AgentConnection connection)
    {
        var starts = new List<string>();
        while (connection.Outbox.TryRead(out var message))
        {
            if (message.Command?.StartInstance is { } start)
            {
                starts.Add(start.Spec.InstanceId);
            }
        }

        return starts;
    }

    private static List<(string Node, ulong Epoch)> EpochsIn(params AgentConnection[] connections)
    {
        var sent = new List<(string, ulong)>();
        foreach (var connection in connections)
        {
            while (connection.Outbox.TryRead(out var message))
            {
                if (message.Command?.StartInstance is { } start)
                {
                    sent.Add((connection.NodeId, start.Spec.Epoch));
                }
            }
        }

        return sent;
    }

    private static List<StopInstance> StopsIn(AgentConnection connection, out List<string> commandIds)
    {
        var stops = new List<StopInstance>();
        commandIds = [];
        while (connection.Outbox.TryRead(out var message))
        {
            if (message.Command?.StopInstance is { } stop)
            {
                stops.Add(stop);
                commandIds.Add(message.Command.CommandId);
            }
        }

        return stops;
    }

    /// <summary>Rows: the node's answer is ok; the stop is still pending after it.</summary>
    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task StopForGood_PendingUntilTheNodeAcknowledgesIt(bool ok, bool pendingAfter)
    {
        var a = Connect("a");
        var id = _actuator.StartNew(_counter, "a", "c1", "every node", CancellationToken.None);
        await _actuator.IdleAsync().WaitAsync(Timeout);
        StartsIn(a);

        _actuator.StopForGood("counter", id, "a", deleteState: true, "scaled down", TimeSpan.FromSeconds(5), CancellationToken.None);

        // Pending (and the assignment gone) before the command leaves.
        Assert.Empty(_instances.Snapshot());
        Assert.Equal(id, Assert.Single(_instances.PendingStops()).InstanceId);
        await _actuator.IdleAsync().WaitAsync(Timeout);
        var stop = Assert.Single(StopsIn(a, out var commandIds));
        Assert.Equal((id, true, TimeSpan.FromSeconds(5)), (stop.InstanceId, stop.DeleteState, stop.DrainTimeout.ToTimeSpan()));

        _results.Complete("a", new CommandResult { CommandId = commandIds[0], Ok = ok, Error = ok ? "" : "drainTimeout = 5 s; expected 0 to 1 s" });

        Assert.Equal(pendingAfter, _instances.PendingStops().Count == 1);
    }

    [Fact]
    public async Task ResendStop_SendsItWithItsDeleteStateAndNoDrain_AndItsAnswerAcknowledgesIt()
    {
        var a = Connect("a");
        var id = _actuator.StartNew(_counter, "a", "c1", "every node", CancellationToken.None);
        _instances.Remove(id, deleteState: true);
        await _actuator.IdleAsync().WaitAsync(Timeout);
        StartsIn(a);

        _actuator.ResendStop(Assert.Single(_instances.PendingStops()), "not acknowledged", CancellationToken.None);
        await _actuator.IdleAsync().WaitAsync(Timeout);

        var stop = Assert.Single(StopsIn(a, out var commandIds));
        Assert.Equal((id, true, null), (stop.InstanceId, stop.DeleteState, stop.DrainTimeout));
        _results.Complete("a", new CommandResult { CommandId = commandIds[0], Ok = true });
        Assert.Empty(_instances.PendingStops());
    }

    [Fact]
    public async Task StartNewMoveResend_EachStart_CarriesTheAssignmentsEpoch()
    {
        var a = Connect("a");
        var b = Connect("b");

        var id = _actuator.StartNew(_counter, "a", "c1", "every node", CancellationToken.None);
        await _actuator.IdleAsync().WaitAsync(Timeout);
        var placed = EpochsIn(a, b);
        _actuator.Move(_counter, id, "a", "b", "node lost", CancellationToken.None);
        await _actuator.IdleAsync().WaitAsync(Timeout);
        var moved = EpochsIn(a, b);
        _actuator.Resend(_counter, _instances.Snapshot().Single(i => i.InstanceId == id), settingsOnly: false, CancellationToken.None);
        await _actuator.IdleAsync().WaitAsync(Timeout);
        var resent = EpochsIn(a, b);
        _actuator.Move(_counter, id, "b", "a", "failback", CancellationToken.None);
        await _actuator.IdleAsync().WaitAsync(Timeout);
        var back = EpochsIn(a, b);

        Assert.Equal([("a", 1UL)], placed);
        Assert.Equal([("b", 2UL)], moved);
        Assert.Equal([("b", 2UL)], resent); // a repeat is the same assignment: same epoch
        Assert.Equal([("a", 3UL)], back);
    }

    [Fact]
    public void StartNew_OneNodeNotReading_AnotherNodesStartIsQueuedAtOnce()
    {
        var stalled = Stalled("stalled");
        var reading = Connect("reading");

        // The stalled node first, as a pass over the nodes in order would reach it.
        _actuator.StartNew(_counter, "stalled", "c1", "every node", CancellationToken.None);
        var id = _actuator.StartNew(_counter, "reading", "c1", "every node", CancellationToken.None);

        // No time passed: the reading node's start did not wait for the stalled node's send.
        Assert.Equal([id], StartsIn(reading));
        Assert.False(stalled.Aborted.IsCancellationRequested);
        Assert.Contains(_decisions.For("counter"), d => d.ToNodeId == "reading" && d.Outcome == "StartInstance sent");
    }

    [Fact]
    public async Task StopStaleCopy_CarriesTheCurrentEpoch_SoTheNodeStopsOnlyOlderCopies()
    {
        var old = Connect("old");
        _instances.Assign("counter-a", "counter", "old");
        var epoch = _instances.Assign("counter-a", "counter", "new");

        _actuator.StopStaleCopy("counter", "counter-a", "old", "gone", CancellationToken.None);
        await _actuator.IdleAsync().WaitAsync(Timeout);

        var stop = Assert.Single(StopsIn(old, out _));
        Assert.Equal(("counter-a", (ulong)epoch, false), (stop.InstanceId, stop.BelowEpoch, stop.DeleteState));
    }

    [Fact]
    public async Task StartNew_NodeNotReadingPastTheSendTimeout_ItsStreamIsAbortedAndTheStartRecordedUnsent()
    {
        var stalled = Stalled("stalled");
        var id = _actuator.StartNew(_counter, "stalled", "c1", "every node", CancellationToken.None);
        _actuator.StopStaleCopy("counter", "old", "stalled", "gone", CancellationToken.None);

        _time.Advance(SendTimeout);
        await _actuator.IdleAsync().WaitAsync(Timeout);

        Assert.True(stalled.Aborted.IsCancellationRequested);
        var records = _decisions.For("counter");
        var start = Assert.Single(records, d => d.Kind == "start");
        Assert.Equal(id, start.InstanceId);
        Assert.StartsWith("node 'stalled' is not connected (its stream was aborted:", start.Outcome, StringComparison.Ordinal);

        // The stop queued behind it found the stream aborted at once, with no second wait.
        Assert.Contains(records, d => d.Kind == "stop" && d.Outcome.StartsWith("node 'stalled' is not connected", StringComparison.Ordinal));

        // Still assigned: the reconciler sends an unconfirmed start again once the node reconnects.
        Assert.Equal("stalled", _instances.Snapshot().Single(i => i.InstanceId == id).AssignedNodeId);
    }

    [Fact]
    public async Task Resend_AfterTheAbortedNodeReconnects_ReachesItsNewStream()
    {
        var stalled = Stalled("n1");
        var id = _actuator.StartNew(_counter, "n1", "c1", "every node", CancellationToken.None);
        _time.Advance(SendTimeout);
        await _actuator.IdleAsync().WaitAsync(Timeout);
        Assert.True(stalled.Aborted.IsCancellationRequested);
        _connections.Remove(stalled);

        var again = Connect("n1");
        _actuator.Resend(_counter, _instances.Snapshot().Single(i => i.InstanceId == id), settingsOnly: false, CancellationToken.None);
        await _actuator.IdleAsync().WaitAsync(Timeout);

        Assert.Equal([id], StartsIn(again));
    }

    [Fact]
    public async Task Resend_SettingsToEveryInstanceOneNodeNotReading_OthersGetTheirStartsAtOnce()
    {
        var stalled = Stalled("stalled");
        var reading = Connect("reading");
        _instances.Assign("counter-a", "counter", "stalled");
        _instances.Assign("counter-b", "counter", "reading");

        foreach (var instance in _instances.Snapshot())
        {
            _actuator.Resend(_counter, instance, settingsOnly: true, CancellationToken.None);
        }

        Assert.Equal(["counter-b"], StartsIn(reading));
        _time.Advance(SendTimeout);
        await _actuator.IdleAsync().WaitAsync(Timeout);
        Assert.True(stalled.Aborted.IsCancellationRequested);
    }
}
