using Drover.Aggregator.Clusters;
using Drover.Aggregator.State;
using Drover.Decisions.Balancing;
using Drover.Decisions.Health;
using Drover.Decisions.Scaling;
using Microsoft.Data.Sqlite;

namespace Drover.Aggregator.Tests.State;

/// <summary>The decision memory in <c>state.db</c>: each kind read back after the store is reopened (an aggregator restart).</summary>
public sealed class SqliteStateStoreDecisionMemoryTests : IDisposable
{
    private static readonly DateTimeOffset At = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly StoreDirectory _stores = new();

    public void Dispose() => _stores.Dispose();

    private SqliteStateStore Open() => _stores.Open();

    private SqliteStateStore Reopen() => _stores.Reopen();

    private void Execute(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_stores.Path, SqliteStateStore.FileName)};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static ClusterHistoryEntry Entry(int minute, string from, string to, params string[] servedBy)
        => new(At.AddMinutes(minute), from, to, 1, 2, 3, servedBy, $"{from} to {to} at minute {minute}");

    [Fact]
    public void LoadLoadBalancing_AfterReopen_TablesAndMemoriesAsSaved()
    {
        var table = new LbTable(LbSide.Service, "db", 7, "roundrobin", [new LbEntry("db1", 10, LbEntryState.Ready), new LbEntry("db2", 1, LbEntryState.Maint)]);
        var memory = new LbCoordinationMemory(
            "roundrobin",
            "roundrobin",
            new Dictionary<string, LbEntry> { ["db1"] = table.Entries[0], ["db2"] = table.Entries[1] },
            new Dictionary<string, LbEntry> { ["f-1"] = new("f-1", 10, LbEntryState.Ready) },
            [new LbPair("db1", "f-1")],
            ["db2"]);
        Assert.True(Open().SaveLoadBalancing(new StoredLoadBalancing(
            [new StoredLbTable(table, At, ["a conflict"])],
            new Dictionary<string, LbCoordinationMemory> { ["f|db"] = memory })));

        var loaded = Reopen().LoadLoadBalancing();

        var held = Assert.Single(loaded.Tables);
        Assert.Equal((table.Side, table.Name, table.Version, table.Policy), (held.Table.Side, held.Table.Name, held.Table.Version, held.Table.Policy));
        Assert.Equal(table.Entries, held.Table.Entries);
        Assert.Equal((At, "a conflict"), (held.ChangedAt, Assert.Single(held.Problems)));
        var kept = loaded.Memories["f|db"];
        Assert.Equal(memory.Pairs, kept.Pairs);
        Assert.Equal(["db2"], kept.Retired!);
        Assert.Equal(memory.ServiceEntries["db2"], kept.ServiceEntries["db2"]);
        Assert.Equal(memory.FunctionEntries["f-1"], kept.FunctionEntries["f-1"]);
    }

    [Fact]
    public void LoadLoadBalancing_NothingKept_Empty() => Assert.Empty(Open().LoadLoadBalancing().Tables);

    [Fact]
    public void LoadNodePenalties_AfterReopen_SameEndTimesInUtc()
    {
        Assert.True(Open().SaveNodePenalties(new Dictionary<string, DateTimeOffset>
        {
            ["node-1"] = At.AddSeconds(30),
            ["node-2"] = new DateTimeOffset(2025, 3, 1, 14, 0, 45, TimeSpan.FromHours(2)),
        }));

        var loaded = Reopen().LoadNodePenalties();

        Assert.Equal(["node-1", "node-2"], loaded.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(At.AddSeconds(30), loaded["node-1"]);
        Assert.Equal(At.AddSeconds(45), loaded["node-2"]);
        Assert.Equal(TimeSpan.Zero, loaded["node-2"].Offset);
    }

    [Fact]
    public void SaveNodePenalties_Again_ReplacesTheWholeMemory()
    {
        var store = Open();
        store.SaveNodePenalties(new Dictionary<string, DateTimeOffset> { ["node-1"] = At, ["node-2"] = At });

        store.SaveNodePenalties(new Dictionary<string, DateTimeOffset> { ["node-3"] = At });

        Assert.Equal(["node-3"], Reopen().LoadNodePenalties().Keys);
    }

    [Fact]
    public void LoadScalingWindows_AfterReopen_SameWindowsToTheMillisecond()
    {
        Assert.True(Open().SaveScalingWindows(new Dictionary<string, ScalingPrevious>
        {
            ["counter"] = new(TimeSpan.FromMilliseconds(42_250)),
            ["echo"] = new(TimeSpan.Zero),
            ["idle"] = new((TimeSpan?)null),
        }));

        var loaded = Reopen().LoadScalingWindows();

        Assert.Equal(3, loaded.Count);
        Assert.Equal(new ScalingPrevious(TimeSpan.FromMilliseconds(42_250)), loaded["counter"]);
        Assert.Equal(new ScalingPrevious(TimeSpan.Zero), loaded["echo"]);
        Assert.Equal(new ScalingPrevious(null), loaded["idle"]);
    }

    [Fact]
    public void LoadClusterHealth_AfterReopen_SameStatesAndHealthyTimes()
    {
        Assert.True(Open().SaveClusterHealth(new Dictionary<string, PreviousClusterHealth>
        {
            ["east"] = new(ClusterHealthState.Recovering, TimeSpan.FromSeconds(2)),
            ["west"] = new(ClusterHealthState.Unhealthy, TimeSpan.Zero),
            ["north"] = new(ClusterHealthState.Healthy, TimeSpan.MaxValue),
        }));

        var loaded = Reopen().LoadClusterHealth();

        Assert.Equal(new PreviousClusterHealth(ClusterHealthState.Recovering, TimeSpan.FromSeconds(2)), loaded["east"]);
        Assert.Equal(new PreviousClusterHealth(ClusterHealthState.Unhealthy, TimeSpan.Zero), loaded["west"]);
        Assert.Equal(ClusterHealthState.Healthy, loaded["north"].Health);
        Assert.True(loaded["north"].HealthyFor > TimeSpan.FromDays(365 * 1000));
    }

    [Fact]
    public void LoadClusterHealth_UnknownStateInTheRow_LeavesThatClusterOut()
    {
        Open();
        Execute("""
            INSERT INTO decision_memory (key, value, updated_at)
            VALUES ('health/previous', '{"east":{"health":"recovering","healthyForMs":1500},"west":{"health":"sideways","healthyForMs":0}}', '');
            """);

        var loaded = Reopen().LoadClusterHealth();

        Assert.Equal(["east"], loaded.Keys);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), loaded["east"].HealthyFor);
    }

    [Fact]
    public void LoadNodePenalties_ValueIsNotJson_Empty()
    {
        Open();
        Execute("INSERT INTO decision_memory (key, value, updated_at) VALUES ('placement/node-penalties', 'not json', '')");

        Assert.Empty(Reopen().LoadNodePenalties());
    }

    [Fact]
    public void LoadClusterHistory_AfterReopen_EachClusterOldestFirstWithEveryField()
    {
        var store = Open();
        Assert.True(store.AppendClusterHistory([("east", Entry(1, "healthy", "unhealthy", "west", "north")), ("west", Entry(2, "healthy", "unhealthy"))], 10));
        Assert.True(store.AppendClusterHistory([("east", Entry(3, "unhealthy", "recovering"))], 10));

        var loaded = Reopen().LoadClusterHistory(10);

        Assert.Equal(["east", "west"], loaded.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(2, loaded["east"].Count);
        var first = loaded["east"][0];
        Assert.Equal((At.AddMinutes(1), "healthy", "unhealthy", 1, 2, 3, "healthy to unhealthy at minute 1"), (first.At, first.From, first.To, first.Survivors, first.MinSurvivors, first.Total, first.Reason));
        Assert.Equal(["west", "north"], first.ServedBy);
        Assert.Equal(At.AddMinutes(3), loaded["east"][1].At);
        Assert.Equal(At.AddMinutes(2), Assert.Single(loaded["west"]).At);
    }

    [Fact]
    public void AppendClusterHistory_MoreThanKept_DropsTheOldestOfThatClusterOnly()
    {
        var store = Open();
        store.AppendClusterHistory([("west", Entry(0, "healthy", "unhealthy"))], 3);
        for (var minute = 1; minute <= 5; minute++)
        {
            store.AppendClusterHistory([("east", Entry(minute, "healthy", "unhealthy"))], 3);
        }

        var loaded = Reopen().LoadClusterHistory(1000);

        Assert.Equal([At.AddMinutes(3), At.AddMinutes(4), At.AddMinutes(5)], loaded["east"].Select(e => e.At));
        Assert.Single(loaded["west"]);
    }

    [Fact]
    public void LoadClusterHistory_KeepSmallerThanStored_NewestOfEach()
    {
        Open().AppendClusterHistory([.. Enumerable.Range(1, 4).Select(m => ("east", Entry(m, "healthy", "unhealthy")))], 10);

        var loaded = Reopen().LoadClusterHistory(2);

        Assert.Equal([At.AddMinutes(3), At.AddMinutes(4)], loaded["east"].Select(e => e.At));
    }

    [Fact]
    public void ReserveEventSequences_LowerMarkAfterHigher_KeepsTheHigher()
    {
        var store = Open();
        Assert.True(store.ReserveEventSequences("function/counter", 2000));
        Assert.True(store.ReserveEventSequences("function/counter", 1000));
        Assert.True(store.ReserveEventSequences("cluster/east", 1000));

        var loaded = Reopen().LoadEventSequences();

        Assert.Equal(2000UL, loaded["function/counter"]);
        Assert.Equal(1000UL, loaded["cluster/east"]);
        Assert.Equal(2, loaded.Count);
    }

    [Fact]
    public void SaveScalingWindows_TableGone_ReturnsFalseAndDoesNotThrow()
    {
        var store = Open();
        Execute("DROP TABLE decision_memory");

        Assert.False(store.SaveScalingWindows(new Dictionary<string, ScalingPrevious> { ["counter"] = new(TimeSpan.Zero) }));
    }

    [Fact]
    public void Open_SchemaVersion2_MigratedWithEmptyDecisionMemoryAndNoPendingStopsKeepingAssignments()
    {
        Assert.True(Open().SaveAssignment(new StoredAssignment("fn-a-1", "a", "node-1", 3, "east")));
        Reopen();
        Execute("DROP TABLE decision_memory; DROP TABLE cluster_history; DROP TABLE event_sequences; DROP TABLE pending_stops; UPDATE schema_version SET version = 2;");

        var store = Reopen();

        Assert.Empty(store.LoadNodePenalties());
        Assert.Empty(store.LoadClusterHistory(10));
        Assert.Empty(store.LoadEventSequences());
        Assert.True(store.SaveClusterHealth(new Dictionary<string, PreviousClusterHealth> { ["east"] = new(ClusterHealthState.Healthy, TimeSpan.Zero) }));
        Assert.Equal([new StoredAssignment("fn-a-1", "a", "node-1", 3, "east")], store.LoadAssignments());
        Assert.Empty(store.LoadStops());
        using var check = new SqliteConnection($"Data Source={store.DatabasePath};Pooling=False");
        check.Open();
        using var version = check.CreateCommand();
        version.CommandText = "SELECT version FROM schema_version";
        Assert.Equal((long)SqliteStateStore.SchemaVersion, version.ExecuteScalar());
    }
}
