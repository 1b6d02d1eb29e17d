using Drover.Aggregator.Fleet;
using Drover.Aggregator.Tests.State;
using Microsoft.Extensions.Time.Testing;
using static Drover.Aggregator.Tests.Fleet.NodeTableTests;

namespace Drover.Aggregator.Tests.Fleet;

/// <summary>Weight and priority overrides: which value is in force, and that they outlive the process.</summary>
public sealed class NodeOverridesTests : IDisposable
{
    private readonly TempDirectory _data = new();
    private readonly FakeTimeProvider _time = new();

    private string FilePath => Path.Combine(_data.Path, NodeOverrides.FileName);

    public void Dispose() => _data.Dispose();

    private NodeTable Table(out Guid stream, int? helloWeight = null, int? helloPriority = null)
    {
        var table = new NodeTable(_time, new NodeOverrides(FilePath));
        stream = Guid.NewGuid();
        table.Register(Node("a", 1) with { Weight = helloWeight, Priority = helloPriority }, stream);
        return table;
    }

    [Fact]
    public void Snapshot_HelloValues_AreInForceFromTheAgent()
    {
        var view = Assert.Single(Table(out _, 250, -3).Snapshot());

        Assert.Equal((250, NodeSettingSource.Agent, -3, NodeSettingSource.Agent), (view.Weight, view.WeightSource, view.Priority, view.PrioritySource));
    }

    [Fact]
    public void ChangeOverride_OneField_WinsOverTheHelloAndLeavesTheOther()
    {
        var table = Table(out _, 250, -3);
        var changes = 0;
        table.Changed += () => changes++;

        Assert.True(table.ChangeOverride("a", o => o with { Weight = 0 }));

        var view = Assert.Single(table.Snapshot());
        Assert.Equal((0, NodeSettingSource.Override, -3, NodeSettingSource.Agent), (view.Weight, view.WeightSource, view.Priority, view.PrioritySource));
        Assert.Equal(1, changes);
    }

    [Fact]
    public void ChangeOverride_Cleared_GivesTheAgentsValueBackAndForgetsTheEntry()
    {
        var table = Table(out _, 250);
        table.ChangeOverride("a", o => o with { Weight = 7 });

        table.ChangeOverride("a", o => o with { Weight = null });

        Assert.Equal((250, NodeSettingSource.Agent), (table.Snapshot()[0].Weight, table.Snapshot()[0].WeightSource));
        Assert.Null(new NodeOverrides(FilePath).Find("a"));
    }

    [Fact]
    public void ChangeOverride_UnknownNode_IsRefusedAndNothingWritten()
    {
        var table = Table(out _);

        Assert.False(table.ChangeOverride("nobody", o => o with { Weight = 1 }));
        Assert.False(File.Exists(FilePath));
    }

    [Fact]
    public void ChangeOverride_ANewTableOnTheSameFile_AppliesItAgainWhenTheNodeRegisters()
    {
        Table(out _).ChangeOverride("a", o => o with { Weight = 900, Priority = 5 });

        var restarted = Table(out _, 100, 0);

        var view = Assert.Single(restarted.Snapshot());
        Assert.Equal((900, NodeSettingSource.Override, 5, NodeSettingSource.Override), (view.Weight, view.WeightSource, view.Priority, view.PrioritySource));
    }
}
