using Drover.Aggregator.Fleet;
using Drover.Aggregator.State;
using Drover.Aggregator.Tests.State;
using Drover.Protocol.V1;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.Fleet;

/// <summary>
/// Pending stops: an instance removed for good stays stopped until its node acknowledges the stop,
/// across aggregator restarts (a reopened store); its node's reports of it running send the stop
/// again and never bring it back.
/// </summary>
public sealed class InstanceTableStopTests : IDisposable
{
    private readonly StoreDirectory _stores = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 3, 8, 0, 0, TimeSpan.Zero));

    public void Dispose() => _stores.Dispose();

    private static InstanceReport Report(string id, InstanceState state = InstanceState.Running)
        => new() { InstanceId = id, Function = "counter", Version = "1", State = state, Pid = 42, Port = 9000, Epoch = 1 };

    private InstanceTable Removed(string id = "i1", string node = "a")
    {
        var table = new InstanceTable(_time, _stores.Open());
        table.Assign(id, "counter", node, "east");
        table.Remove(id, deleteState: true);
        return table;
    }

    [Fact]
    public void Remove_KnownInstance_PendingStopToItsNodeKeptAcrossARestartInsteadOfItsAssignment()
    {
        Removed();

        var after = new InstanceTable(_time, _stores.Reopen());

        Assert.Empty(after.Snapshot());
        Assert.Equal([new StoredStop("i1", "counter", "a", DeleteState: true, _time.GetUtcNow())], after.PendingStops());
        Assert.Empty(after.AwaitedNodes());
    }

    [Fact]
    public void Record_RunningAfterARestartWithTheStopPending_NotAdoptedAndTheStopStaysPending()
    {
        Removed();
        var after = new InstanceTable(_time, _stores.Reopen());

        after.Record("a", Report("i1"));

        Assert.Empty(after.Snapshot());
        Assert.Equal("i1", Assert.Single(after.PendingStops()).InstanceId);
    }

    [Fact]
    public void StopAcknowledged_ByItsNode_NoLongerPendingHereOrAfterARestart()
    {
        var table = Removed();

        table.StopAcknowledged("i1", "a");

        Assert.Empty(table.PendingStops());
        Assert.Empty(new InstanceTable(_time, _stores.Reopen()).PendingStops());
    }

    [Fact]
    public void StopAcknowledged_ByAnotherNode_StaysPending()
    {
        var table = Removed();

        table.StopAcknowledged("i1", "b");

        Assert.Equal("a", Assert.Single(table.PendingStops()).NodeId);
    }

    /// <summary>An acknowledged stop the node lost (its agent restarted mid-drain and ran the instance on): the running report makes it pending again, durably, to the reporting node.</summary>
    [Fact]
    public void Record_RunningAfterTheStopWasAcknowledged_PendingAgainToTheReportingNode()
    {
        var table = Removed();
        table.StopAcknowledged("i1", "a");

        table.Record("b", Report("i1"));

        Assert.Empty(table.Snapshot());
        Assert.Equal([new StoredStop("i1", "counter", "b", DeleteState: true, _time.GetUtcNow())], new InstanceTable(_time, _stores.Reopen()).PendingStops());
    }

    [Fact]
    public void Record_Stopped_EndsThePendingStopHereAndInTheStore()
    {
        var table = Removed();

        table.Record("a", Report("i1", InstanceState.Stopped));

        Assert.Empty(table.PendingStops());
        Assert.Empty(new InstanceTable(_time, _stores.Reopen()).PendingStops());
    }

    [Fact]
    public void StopAcknowledged_LongerAgoThanTheStoppingMemory_ItsReportsAreANewInstanceAgain()
    {
        var table = Removed();
        table.StopAcknowledged("i1", "a");
        _time.Advance(InstanceTable.StoppingMemory + TimeSpan.FromSeconds(1));
        table.Assign("i2", "counter", "a", "east");
        table.Remove("i2", deleteState: false);

        table.Record("a", Report("i1"));

        Assert.Equal("i1", Assert.Single(table.Snapshot()).InstanceId);
    }

    [Fact]
    public void ForgetStaleCopiesOn_TheStopsNode_DropsItsPendingStops()
    {
        var table = Removed("i1", "a");
        table.Assign("i2", "counter", "b", "east");
        table.Remove("i2", deleteState: false);

        Assert.Equal(1, table.ForgetStaleCopiesOn("a"));

        Assert.Equal(["i2"], table.PendingStops().Select(s => s.InstanceId));
        Assert.Equal(["i2"], new InstanceTable(_time, _stores.Reopen()).PendingStops().Select(s => s.InstanceId));
    }

    [Fact]
    public void Assign_AnInstanceWithAPendingStop_ItIsAssignedAgainAndNoLongerStopping()
    {
        var table = Removed();

        table.Assign("i1", "counter", "b");

        Assert.Empty(table.PendingStops());
        var after = new InstanceTable(_time, _stores.Reopen());
        Assert.Empty(after.PendingStops());
        Assert.Equal("b", Assert.Single(after.Snapshot()).AssignedNodeId);
    }
}
