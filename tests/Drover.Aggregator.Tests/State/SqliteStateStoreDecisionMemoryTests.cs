using Drover.Aggregator.State;
using Drover.Decisions.Health;
using Microsoft.Data.Sqlite;

namespace Drover.Aggregator.Tests.State;

/// <summary>The decision memory in <c>state.db</c>: the migration from schema version 2. What every store keeps of it is in <see cref="StoreContractTests"/>.</summary>
public sealed class SqliteStateStoreDecisionMemoryTests : IDisposable
{
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

    [Fact]
    public void LoadLoadBalancing_NothingKept_Empty() => Assert.Empty(Open().LoadLoadBalancing().Tables);

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
