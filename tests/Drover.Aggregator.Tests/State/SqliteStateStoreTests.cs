using Drover.Aggregator.State;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Aggregator.Tests.State;

/// <summary>What only the SQLite store has: its file, WAL mode and migrations from its older schema versions. What every store promises is in <see cref="StoreContractTests"/>.</summary>
public sealed class SqliteStateStoreTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly List<SqliteStateStore> _stores = [];

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }

        _directory.Dispose();
    }

    private SqliteStateStore Open(int keepVersions = SqliteStateStore.DefaultKeepVersions)
    {
        var store = new SqliteStateStore(_directory.Path, NullLogger<SqliteStateStore>.Instance, keepVersions);
        _stores.Add(store);
        return store;
    }

    private static async Task<CommitResult> CommitAsync(IStateStore store, SnapshotInfo info, byte[] bytes)
    {
        using var content = new MemoryStream(bytes);
        return await store.CommitAsync(info, content, CancellationToken.None);
    }

    private static async Task<byte[]?> ReadAsync(IStateStore store, string instanceId, long version)
    {
        await using var stream = await store.OpenReadAsync(instanceId, version, CancellationToken.None);
        return stream is null ? null : await Snapshots.ReadAllAsync(stream);
    }

    [Fact]
    public async Task Open_SchemaVersion1_MigratedKeepingSnapshotsWithNoAssignments()
    {
        var bytes = Snapshots.Bytes(1000, seed: 1);
        var first = Open();
        await CommitAsync(first, Snapshots.Info("fn-a-1", 1, bytes), bytes);
        first.Dispose();
        _stores.Remove(first);
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, SqliteStateStore.FileName)};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "DROP TABLE assignments; DROP TABLE decision_memory; DROP TABLE cluster_history; DROP TABLE event_sequences; DROP TABLE pending_stops; UPDATE schema_version SET version = 1;";
            command.ExecuteNonQuery();
        }

        var store = Open();

        Assert.Empty(store.LoadAssignments());
        Assert.True(store.SaveAssignment(new StoredAssignment("fn-a-1", "a", "node-1", 1, null)));
        Assert.Equal(bytes, await ReadAsync(store, "fn-a-1", 1));
        using var check = new SqliteConnection($"Data Source={store.DatabasePath};Pooling=False");
        check.Open();
        using var version = check.CreateCommand();
        version.CommandText = "SELECT version FROM schema_version";
        Assert.Equal((long)SqliteStateStore.SchemaVersion, version.ExecuteScalar());
    }

    [Fact]
    public async Task Open_NewFile_IsWalWithSchemaVersion()
    {
        var store = Open();

        using var connection = new SqliteConnection($"Data Source={store.DatabasePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", command.ExecuteScalar());
        command.CommandText = "SELECT version FROM schema_version";
        Assert.Equal((long)SqliteStateStore.SchemaVersion, command.ExecuteScalar());
        Assert.Equal(Path.Combine(_directory.Path, "state.db"), store.DatabasePath);
    }

}
