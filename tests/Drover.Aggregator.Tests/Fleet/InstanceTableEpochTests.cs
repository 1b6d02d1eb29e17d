using Drover.Aggregator.Fleet;
using Drover.Aggregator.State;
using Drover.Aggregator.Tests.State;
using Drover.Protocol.V1;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.Fleet;

/// <summary>The fencing epochs of the instance table, and their life across an aggregator restart (a reopened store).</summary>
public sealed class InstanceTableEpochTests : IDisposable
{
    private readonly StoreDirectory _stores = new();
    private readonly FakeTimeProvider _time = new();

    public void Dispose() => _stores.Dispose();

    private SqliteStateStore OpenStore() => _stores.Open();

    private static InstanceReport Report(string id, ulong epoch = 0)
        => new() { InstanceId = id, Function = "counter", Version = "1", State = InstanceState.Running, Pid = 42, Port = 9000, Epoch = epoch };

    [Fact]
    public void Assign_FirstPlacementThenMoveThenFailback_EpochGrowsEachTime()
    {
        var table = new InstanceTable(_time);

        var placed = table.Assign("i1", "counter", "a", "east");
        var moved = table.Assign("i1", "counter", "b");
        var back = table.Assign("i1", "counter", "a");

        Assert.Equal([1L, 2L, 3L], [placed, moved, back]);
        Assert.Equal(3, table.Epoch("i1"));
        Assert.Equal(3, Assert.Single(table.Snapshot()).Epoch);
        Assert.Equal(0, table.Epoch("unknown"));
    }

    [Fact]
    public void New_StoreWithAssignments_KnowsEveryInstanceWithItsEpochBeforeAnyReport()
    {
        var before = new InstanceTable(_time, OpenStore());
        before.Assign("i1", "counter", "a", "east");
        before.Assign("i1", "counter", "b");
        before.Assign("i2", "counter", "c", "east");
        before.Assign("i3", "counter", "c", "east");
        before.Remove("i3", deleteState: true);

        var after = new InstanceTable(_time, OpenStore());

        var views = after.Snapshot();
        Assert.Equal(["i1", "i2"], views.Select(v => v.InstanceId));
        Assert.Equal(("b", 2L, "east"), (views[0].AssignedNodeId, views[0].Epoch, views[0].HomeCluster));
        Assert.Equal(("c", 1L, "east"), (views[1].AssignedNodeId, views[1].Epoch, views[1].HomeCluster));
        Assert.Equal(["b", "c"], after.AwaitedNodes().Order(StringComparer.Ordinal));
        Assert.Equal(3, after.Assign("i1", "counter", "d"));
    }

    [Fact]
    public void Record_StaleCopyReportsFirstAfterRestart_StaysAStaleCopy()
    {
        var before = new InstanceTable(_time, OpenStore());
        before.Assign("i1", "counter", "a", "east");
        before.Assign("i1", "counter", "b");

        var after = new InstanceTable(_time, OpenStore());
        after.Record("a", Report("i1", epoch: 1));
        after.Record("b", Report("i1", epoch: 2));

        Assert.Equal([("i1", "a", "counter")], after.StaleCopies());
        var view = Assert.Single(after.Snapshot());
        Assert.Equal(("b", "b", 2L), (view.AssignedNodeId, view.ReportedNodeId, view.Epoch));
        Assert.Empty(after.AwaitedNodes());
    }

    [Theory]
    [InlineData(0UL, true)] // an older agent: as before
    [InlineData(1UL, false)] // the copy from before the failback: confirms nothing
    [InlineData(2UL, false)]
    [InlineData(3UL, true)]
    public void Record_FromAssignedNodeUnderAnEpoch_ConfirmsOnlyTheCurrentAssignment(ulong reported, bool confirms)
    {
        var table = new InstanceTable(_time);
        table.Assign("i1", "counter", "a", "east");
        table.Assign("i1", "counter", "b");
        table.Assign("i1", "counter", "a");

        table.Record("a", Report("i1", epoch: reported));

        var view = Assert.Single(table.Snapshot());
        Assert.Equal(confirms ? "a" : null, view.ReportedNodeId);
        Assert.Equal(confirms ? "running" : "assigned", view.State);
        Assert.Empty(table.StaleCopies());
    }

    [Theory]
    [InlineData(0UL, 0L)]
    [InlineData(4UL, 4L)]
    public void Record_UnknownInstance_AdoptedWithTheEpochItReportsAndKept(ulong reported, long expected)
    {
        var table = new InstanceTable(_time, OpenStore());

        table.Record("a", Report("i9", epoch: reported));

        Assert.Equal(expected, table.Epoch("i9"));
        Assert.Equal(expected, new InstanceTable(_time, OpenStore()).Epoch("i9"));
    }
}
