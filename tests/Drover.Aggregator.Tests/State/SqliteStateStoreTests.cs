using Drover.Aggregator.State;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Aggregator.Tests.State;

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
    public void LoadAssignments_AfterReopen_SameAssignmentsWithTheirEpochs()
    {
        var store = Open();
        Assert.True(store.SaveAssignment(new StoredAssignment("fn-b-1", "b", "node-2", 1, "west")));
        Assert.True(store.SaveAssignment(new StoredAssignment("fn-a-1", "a", "node-1", 1, "east")));
        Assert.True(store.SaveAssignment(new StoredAssignment("fn-a-1", "a", "node-3", 2, "east")));
        Assert.True(store.SaveAssignment(new StoredAssignment("fn-c-1", "c", "node-1", 5, null)));
        Assert.True(store.SaveStop(new StoredStop("fn-c-1", "c", "node-1", DeleteState: true, DateTimeOffset.UnixEpoch)));
        store.Dispose();
        _stores.Remove(store);

        var loaded = Open().LoadAssignments();

        Assert.Equal(
            [new StoredAssignment("fn-a-1", "a", "node-3", 2, "east"), new StoredAssignment("fn-b-1", "b", "node-2", 1, "west")],
            loaded);
    }

    [Fact]
    public void SaveAssignment_OlderEpochThanKept_KeepsTheNewer()
    {
        var store = Open();
        store.SaveAssignment(new StoredAssignment("fn-a-1", "a", "node-2", 4, "east"));

        store.SaveAssignment(new StoredAssignment("fn-a-1", "a", "node-1", 3, "east"));

        Assert.Equal([new StoredAssignment("fn-a-1", "a", "node-2", 4, "east")], store.LoadAssignments());
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
    public async Task CommitAsync_NewVersion_ReadsBackSameBytesAndChecksum()
    {
        var store = Open();
        var bytes = Snapshots.Bytes(300_000, seed: 1);
        var info = Snapshots.Info("fn-a-1", 1, bytes);

        var result = await CommitAsync(store, info, bytes);

        Assert.Equal(CommitOutcome.Committed, result.Outcome);
        await using var latest = await store.GetLatestAsync("fn-a-1", CancellationToken.None);
        Assert.NotNull(latest);
        Assert.Equal(info, latest.Info);
        var read = await Snapshots.ReadAllAsync(latest.Content);
        Assert.Equal(bytes, read);
        Assert.Equal(info.Sha256Hex, Snapshots.Sha256(read));
        Assert.Equal(bytes, await ReadAsync(store, "fn-a-1", 1));
    }

    [Fact]
    public async Task CommitAsync_EmptyArchive_ReadsBackEmpty()
    {
        var store = Open();
        var bytes = Array.Empty<byte>();

        var result = await CommitAsync(store, Snapshots.Info("fn-a-1", 1, bytes), bytes);

        Assert.Equal(CommitOutcome.Committed, result.Outcome);
        Assert.Equal(bytes, await ReadAsync(store, "fn-a-1", 1));
    }

    [Fact]
    public async Task CommitAsync_MoreVersionsThanKept_PrunesOldest()
    {
        var store = Open(keepVersions: 3);

        for (var version = 1; version <= 5; version++)
        {
            var bytes = Snapshots.Bytes(10_000, seed: version);
            Assert.Equal(CommitOutcome.Committed, (await CommitAsync(store, Snapshots.Info("fn-a-1", version, bytes), bytes)).Outcome);
        }

        var kept = await store.ListAsync("fn-a-1", CancellationToken.None);
        Assert.Equal([5L, 4L, 3L], kept.Select(s => s.Version));
        Assert.Null(await ReadAsync(store, "fn-a-1", 2));
        Assert.Null(await ReadAsync(store, "fn-a-1", 1));
        Assert.Equal(Snapshots.Bytes(10_000, seed: 3), await ReadAsync(store, "fn-a-1", 3));
    }

    [Fact]
    public async Task CommitAsync_FiveVersionsWithDefaultKeep_KeepsNewestThreeAndLatestReads()
    {
        var store = Open();
        for (var version = 1; version <= 5; version++)
        {
            var bytes = Snapshots.Bytes(5_000, seed: version);
            await CommitAsync(store, Snapshots.Info("fn-a-1", version, bytes), bytes);
        }

        await using var latest = await store.GetLatestAsync("fn-a-1", CancellationToken.None);

        Assert.Equal(3, SqliteStateStore.DefaultKeepVersions);
        Assert.Equal([5L, 4L, 3L], (await store.ListAsync("fn-a-1", CancellationToken.None)).Select(s => s.Version));
        Assert.Equal(5L, latest!.Info.Version);
        Assert.Equal(Snapshots.Bytes(5_000, seed: 5), await Snapshots.ReadAllAsync(latest.Content));
    }

    [Fact]
    public async Task ListInstancesAsync_KeptInstances_DescribesEachByItsNewest()
    {
        var store = Open(keepVersions: 2);
        var bytes = Snapshots.Bytes(1000, seed: 1);
        await CommitAsync(store, Snapshots.Info("fn-b-1", 1, bytes), bytes);
        for (var version = 1; version <= 3; version++)
        {
            await CommitAsync(store, Snapshots.Info("fn-a-1", version, bytes) with { CommittedAt = Snapshots.CommittedAt.AddMinutes(version) }, bytes);
        }

        var listed = await store.ListInstancesAsync(CancellationToken.None);

        Assert.Equal(
            [new StoredInstance("fn-a-1", "resize", 3, 2, Snapshots.CommittedAt.AddMinutes(3)), new StoredInstance("fn-b-1", "resize", 1, 1, Snapshots.CommittedAt)],
            listed);
    }

    [Fact]
    public async Task CommitAsync_PruningOneInstance_KeepsOtherInstances()
    {
        var store = Open(keepVersions: 1);
        var other = Snapshots.Bytes(1000, seed: 9);
        await CommitAsync(store, Snapshots.Info("fn-b-1", 1, other), other);

        for (var version = 1; version <= 3; version++)
        {
            var bytes = Snapshots.Bytes(1000, seed: version);
            await CommitAsync(store, Snapshots.Info("fn-a-1", version, bytes), bytes);
        }

        Assert.Equal(other, await ReadAsync(store, "fn-b-1", 1));
        Assert.Single(await store.ListAsync("fn-a-1", CancellationToken.None));
    }

    [Fact]
    public async Task CommitAsync_SameVersionSameChecksum_ReturnsAlreadyCommitted()
    {
        var store = Open();
        var bytes = Snapshots.Bytes(5000, seed: 1);
        var info = Snapshots.Info("fn-a-1", 7, bytes);
        await CommitAsync(store, info, bytes);

        var again = await CommitAsync(store, info with { CommittedAt = info.CommittedAt.AddMinutes(1) }, bytes);

        Assert.Equal(CommitOutcome.AlreadyCommitted, again.Outcome);
        Assert.True(again.IsStored);
        var kept = Assert.Single(await store.ListAsync("fn-a-1", CancellationToken.None));
        Assert.Equal(info.CommittedAt, kept.CommittedAt);
    }

    [Fact]
    public async Task CommitAsync_SameVersionOtherChecksum_ReturnsStale()
    {
        var store = Open();
        var first = Snapshots.Bytes(5000, seed: 1);
        await CommitAsync(store, Snapshots.Info("fn-a-1", 7, first), first);
        var second = Snapshots.Bytes(5000, seed: 2);

        var result = await CommitAsync(store, Snapshots.Info("fn-a-1", 7, second), second);

        Assert.Equal(CommitOutcome.Stale, result.Outcome);
        Assert.Contains("already committed", result.Reason, StringComparison.Ordinal);
        Assert.Equal(first, await ReadAsync(store, "fn-a-1", 7));
    }

    [Fact]
    public async Task CommitAsync_OlderVersion_ReturnsStaleAndLatestStays()
    {
        var store = Open();
        var newer = Snapshots.Bytes(5000, seed: 1);
        await CommitAsync(store, Snapshots.Info("fn-a-1", 7, newer), newer);
        var older = Snapshots.Bytes(5000, seed: 2);

        var result = await CommitAsync(store, Snapshots.Info("fn-a-1", 6, older), older);

        Assert.Equal(CommitOutcome.Stale, result.Outcome);
        Assert.Equal(7, result.LatestVersion);
        Assert.Contains("not newer than its latest committed version 7", result.Reason, StringComparison.Ordinal);
        await using var latest = await store.GetLatestAsync("fn-a-1", CancellationToken.None);
        Assert.Equal(7, latest!.Info.Version);
        Assert.Null(await ReadAsync(store, "fn-a-1", 6));
    }

    [Fact]
    public async Task CommitAsync_ContentDoesNotMatchChecksum_ReturnsInvalidAndStoresNothing()
    {
        var store = Open();
        var bytes = Snapshots.Bytes(5000, seed: 1);
        var info = Snapshots.Info("fn-a-1", 1, bytes, sha256: Snapshots.Sha256(Snapshots.Bytes(5000, seed: 2)));

        var result = await CommitAsync(store, info, bytes);

        Assert.Equal(CommitOutcome.Invalid, result.Outcome);
        Assert.Contains("hashes to sha256", result.Reason, StringComparison.Ordinal);
        Assert.Null(await store.GetLatestAsync("fn-a-1", CancellationToken.None));
        Assert.Empty(await store.ListAsync("fn-a-1", CancellationToken.None));
    }

    [Theory]
    [InlineData(4999)]
    [InlineData(5001)]
    public async Task CommitAsync_ContentLengthDiffersFromSize_ReturnsInvalidAndKeepsPrevious(int actualLength)
    {
        var store = Open();
        var previous = Snapshots.Bytes(100, seed: 3);
        await CommitAsync(store, Snapshots.Info("fn-a-1", 1, previous), previous);
        var bytes = Snapshots.Bytes(actualLength, seed: 1);
        var info = Snapshots.Info("fn-a-1", 2, bytes) with { SizeBytes = 5000 };

        var result = await CommitAsync(store, info, bytes);

        Assert.Equal(CommitOutcome.Invalid, result.Outcome);
        await using var latest = await store.GetLatestAsync("fn-a-1", CancellationToken.None);
        Assert.Equal(1, latest!.Info.Version);
        Assert.Equal(previous, await Snapshots.ReadAllAsync(latest.Content));
    }

    [Fact]
    public async Task CommitAsync_CancelledWhileWriting_StoresNothing()
    {
        var store = Open();
        var bytes = Snapshots.Bytes(1_000_000, seed: 1);
        using var cancel = new CancellationTokenSource();
        using var content = new CancelAfterFirstRead(bytes, cancel);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.CommitAsync(Snapshots.Info("fn-a-1", 1, bytes), content, cancel.Token));

        Assert.True(content.Reads >= 1);
        Assert.Empty(await store.ListAsync("fn-a-1", CancellationToken.None));
        var retry = await CommitAsync(store, Snapshots.Info("fn-a-1", 1, bytes), bytes);
        Assert.Equal(CommitOutcome.Committed, retry.Outcome);
    }

    /// <summary>A stream whose reader is cancelled once the first read has been served.</summary>
    private sealed class CancelAfterFirstRead(byte[] bytes, CancellationTokenSource cancel) : MemoryStream(bytes)
    {
        public int Reads { get; private set; }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Reads++;
            cancel.Cancel();
            return base.ReadAsync(buffer, CancellationToken.None);
        }
    }

    [Fact]
    public async Task Reopen_AfterDispose_KeepsCommittedSnapshots()
    {
        var first = Open(keepVersions: 2);
        for (var version = 1; version <= 3; version++)
        {
            var bytes = Snapshots.Bytes(70_000, seed: version);
            await CommitAsync(first, Snapshots.Info("fn-a-1", version, bytes), bytes);
        }

        first.Dispose();
        _stores.Remove(first);
        var second = Open(keepVersions: 2);

        await using var latest = await second.GetLatestAsync("fn-a-1", CancellationToken.None);
        Assert.NotNull(latest);
        Assert.Equal(Snapshots.Info("fn-a-1", 3, Snapshots.Bytes(70_000, seed: 3)), latest.Info);
        Assert.Equal(Snapshots.Bytes(70_000, seed: 3), await Snapshots.ReadAllAsync(latest.Content));
        Assert.Equal([3L, 2L], (await second.ListAsync("fn-a-1", CancellationToken.None)).Select(s => s.Version));
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

    [Fact]
    public void Open_SchemaVersionFromNewerAggregator_Throws()
    {
        Open().Dispose();
        _stores.Clear();
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, "state.db")};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE schema_version SET version = 99";
            command.ExecuteNonQuery();
        }

        var error = Assert.Throws<InvalidOperationException>(() => Open());

        Assert.Contains("schema version 99", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetLatestAsync_UnknownInstance_ReturnsNull()
    {
        var store = Open();

        Assert.Null(await store.GetLatestAsync("nobody", CancellationToken.None));
        Assert.Empty(await store.ListAsync("nobody", CancellationToken.None));
        Assert.Null(await store.OpenReadAsync("nobody", 1, CancellationToken.None));
    }

    [Fact]
    public async Task OpenReadAsync_VersionPrunedWhileReading_StreamReadsWholeOriginal()
    {
        var store = Open(keepVersions: 1);
        var original = Snapshots.Bytes(500_000, seed: 1);
        await CommitAsync(store, Snapshots.Info("fn-a-1", 1, original), original);
        await using var stream = await store.OpenReadAsync("fn-a-1", 1, CancellationToken.None);
        var head = new byte[1000];
        await stream!.ReadExactlyAsync(head);

        var newer = Snapshots.Bytes(500_000, seed: 2);
        var commit = await CommitAsync(store, Snapshots.Info("fn-a-1", 2, newer), newer);

        Assert.Equal(CommitOutcome.Committed, commit.Outcome);
        Assert.Null(await ReadAsync(store, "fn-a-1", 1));
        var rest = await Snapshots.ReadAllAsync(stream);
        Assert.Equal(original, head.Concat(rest).ToArray());
    }

    [Fact]
    public async Task DeleteInstanceAsync_KeptVersions_RemovesOnlyThatInstance()
    {
        var store = Open();
        var bytes = Snapshots.Bytes(1000, seed: 1);
        await CommitAsync(store, Snapshots.Info("fn-a-1", 1, bytes), bytes);
        await CommitAsync(store, Snapshots.Info("fn-a-1", 2, bytes), bytes);
        await CommitAsync(store, Snapshots.Info("fn-b-1", 1, bytes), bytes);

        await store.DeleteInstanceAsync("fn-a-1", CancellationToken.None);

        Assert.Empty(await store.ListAsync("fn-a-1", CancellationToken.None));
        Assert.Null(await store.GetLatestAsync("fn-a-1", CancellationToken.None));
        Assert.Single(await store.ListAsync("fn-b-1", CancellationToken.None));
        var again = await CommitAsync(store, Snapshots.Info("fn-a-1", 1, bytes), bytes);
        Assert.Equal(CommitOutcome.Committed, again.Outcome);
    }

    [Fact]
    public async Task CommitAsync_ManyInstancesConcurrently_AllCommitted()
    {
        var store = Open(keepVersions: 2);

        await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            for (var version = 1; version <= 4; version++)
            {
                var bytes = Snapshots.Bytes(20_000, seed: (i * 100) + version);
                var result = await CommitAsync(store, Snapshots.Info($"fn-{i}", version, bytes), bytes);
                Assert.Equal(CommitOutcome.Committed, result.Outcome);
            }
        })));

        for (var i = 0; i < 16; i++)
        {
            Assert.Equal([4L, 3L], (await store.ListAsync($"fn-{i}", CancellationToken.None)).Select(s => s.Version));
            Assert.Equal(Snapshots.Bytes(20_000, seed: (i * 100) + 4), await ReadAsync(store, $"fn-{i}", 4));
        }
    }
}
