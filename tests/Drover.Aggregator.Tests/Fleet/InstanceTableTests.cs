using Drover.Aggregator.Fleet;
using Drover.Protocol.V1;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.Fleet;

public class InstanceTableTests
{
    private readonly InstanceTable _table = new(new FakeTimeProvider());

    private static InstanceReport Report(string id, InstanceState state = InstanceState.Running, ulong stateVersion = 0)
        => new() { InstanceId = id, Function = "counter", Version = "1", State = state, Pid = 42, Port = 9000, StateVersion = stateVersion };

    [Fact]
    public void Record_FromAssignedNode_UpdatesTheInstance()
    {
        _table.Assign("i1", "counter", "a");

        _table.Record("a", Report("i1", stateVersion: 3));

        var view = Assert.Single(_table.Snapshot());
        Assert.Equal("running", view.State);
        Assert.Equal("a", view.ReportedNodeId);
        Assert.Equal(9000, view.Port);
        Assert.Equal(3UL, view.CommittedStateVersion);
    }

    [Fact]
    public void Remove_ReportsWhileItDrains_AreNotTakenBackUntilItReportsStopped()
    {
        _table.Assign("i1", "service/web@1", "a");
        _table.Remove("i1", deleteState: true);

        _table.Record("a", Report("i1"));
        Assert.Empty(_table.Snapshot());

        _table.Record("a", Report("i1", InstanceState.Stopped));
        _table.Record("a", Report("i1"));
        Assert.Equal("i1", Assert.Single(_table.Snapshot()).InstanceId);
    }

    [Fact]
    public void Record_UnknownServiceInstance_IsAdoptedUnderItsSetsKey()
    {
        var report = Report("w1");
        report.Kind = WorkloadKind.Service;
        report.Function = "web";
        report.Version = "2";

        _table.Record("a", report);

        Assert.Equal("service/web@2", Assert.Single(_table.Snapshot()).Function);
    }

    [Fact]
    public void Record_UnknownInstance_IsAdoptedWhereReported()
    {
        _table.Record("a", Report("i9"));

        Assert.Equal("a", Assert.Single(_table.Snapshot()).AssignedNodeId);
    }

    [Fact]
    public void Record_FromNodeItMovedAwayFrom_IsAStaleCopyUntilStopped()
    {
        _table.Assign("i1", "counter", "a");
        _table.Assign("i1", "counter", "b");

        _table.Record("a", Report("i1"));
        Assert.Equal([("i1", "a", "counter")], _table.StaleCopies());
        Assert.Equal("assigned", _table.Snapshot()[0].State);

        _table.Record("a", Report("i1", InstanceState.Stopped));
        Assert.Empty(_table.StaleCopies());
    }

    [Fact]
    public void Assign_BackToTheNodeOfAStaleCopy_ThatCopyIsNoLongerStale()
    {
        _table.Assign("i1", "counter", "a");
        _table.Assign("i1", "counter", "b");
        _table.Record("a", Report("i1"));

        _table.Assign("i1", "counter", "a");

        Assert.Empty(_table.StaleCopies());
    }

    [Fact]
    public void Assign_Move_ForgetsTheOldReport()
    {
        _table.Assign("i1", "counter", "a");
        var report = Report("i1");
        report.GpuUuids.Add("GPU-a");
        _table.Record("a", report);
        Assert.Equal("GPU-a", _table.Snapshot()[0].ReportedGpuUuid);

        _table.Assign("i1", "counter", "b");

        var view = _table.Snapshot()[0];
        Assert.Null(view.ReportedNodeId);
        Assert.Equal(0, view.Port);
        Assert.Null(view.ReportedGpuUuid);
    }

    [Fact]
    public void Record_UnknownInstanceWithItsGpus_KeepsTheFirstGpu()
    {
        // After an aggregator restart, the report is where an autoscaled instance's GPU is learnt.
        var report = Report("i9");
        report.GpuUuids.Add(["GPU-1", "GPU-2"]);

        _table.Record("a", report);

        Assert.Equal("GPU-1", Assert.Single(_table.Snapshot()).ReportedGpuUuid);
    }

    [Fact]
    public void Record_UnknownInstancesBeyondTheCap_AreNotAdopted()
    {
        for (var i = 0; i < InstanceTable.MaxInstancesPerNode + 10; i++)
        {
            _table.Record("a", Report($"i{i}"));
        }

        Assert.Equal(InstanceTable.MaxInstancesPerNode, _table.Snapshot().Count);
    }
}
