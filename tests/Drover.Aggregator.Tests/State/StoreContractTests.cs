using System.Security.Cryptography;
using Drover.Aggregator.Clusters;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.State;
using Drover.Decisions.Balancing;
using Drover.Decisions.Health;
using Drover.Decisions.Scaling;

namespace Drover.Aggregator.Tests.State;

/// <summary>
/// What every <see cref="IAggregatorStore"/> promises, run against each implementation by a subclass
/// (<see cref="SqliteStoreContractTests"/>, <see cref="PostgresStoreContractTests"/>): commits and their versions,
/// archives streamed in and out, assignments, the decision memory, a restart (a new store on the same database reads
/// everything back) and migrations that can run again. A subclass gives each test an empty database.
/// </summary>
public abstract class StoreContractTests : IAsyncLifetime
{
    private static readonly DateTimeOffset At = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly List<IAggregatorStore> _stores = [];

    /// <summary>Why this store cannot be tested here (PostgreSQL not installed), or null.</summary>
    private protected virtual string? SkipReason => null;

    /// <summary>The schema version the implementation writes.</summary>
    private protected abstract int SchemaVersion { get; }

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync()
    {
        CloseAll();
        return Task.CompletedTask;
    }

    /// <summary>A new store on this test's database: what an aggregator opens at start.</summary>
    private protected abstract IAggregatorStore Create(int keepVersions);

    /// <summary>Runs SQL on this test's database behind the store's back (a hand edit, a table dropped).</summary>
    private protected abstract Task<object?> ExecuteAsync(string sql);

    private protected IAggregatorStore Open(int keepVersions = SqliteStateStore.DefaultKeepVersions)
    {
        Skip.If(SkipReason is not null, SkipReason);
        var store = Create(keepVersions);
        lock (_stores)
        {
            _stores.Add(store);
        }

        return store;
    }

    /// <summary>Closes every open store and opens a new one, as a restarted aggregator does.</summary>
    private protected IAggregatorStore Reopen(int keepVersions = SqliteStateStore.DefaultKeepVersions)
    {
        CloseAll();
        return Open(keepVersions);
    }

    private void CloseAll()
    {
        lock (_stores)
        {
            foreach (var store in _stores)
            {
                store.Dispose();
            }

            _stores.Clear();
        }
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

    private static ClusterHistoryEntry Entry(int minute, string from, string to, params string[] servedBy)
        => new(At.AddMinutes(minute), from, to, 1, 2, 3, servedBy, $"{from} to {to} at minute {minute}");

    // Commits and versions

    [SkippableFact]
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
        Assert.Equal(bytes.Length, latest.Content.Length);
        var read = await Snapshots.ReadAllAsync(latest.Content);
        Assert.Equal(bytes, read);
        Assert.Equal(info.Sha256Hex, Snapshots.Sha256(read));
        Assert.Equal(bytes, await ReadAsync(store, "fn-a-1", 1));
    }

    [SkippableTheory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1024 * 1024)]
    [InlineData((1024 * 1024) + 1)]
    [InlineData((3 * 1024 * 1024) - 7)]
    public async Task CommitAsync_SizesAroundChunkEdges_ReadBackExactly(int length)
    {
        var store = Open();
        var bytes = Snapshots.Bytes(length, seed: length);

        var result = await CommitAsync(store, Snapshots.Info("fn-a-1", 1, bytes), bytes);

        Assert.Equal(CommitOutcome.Committed, result.Outcome);
        Assert.Equal(bytes, await ReadAsync(store, "fn-a-1", 1));
    }

    [SkippableFact]
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
        await using var latest = await store.GetLatestAsync("fn-a-1", CancellationToken.None);
        Assert.Equal(5L, latest!.Info.Version);
    }

    [SkippableFact]
    public async Task ListInstancesAsync_KeptInstances_DescribesEachByItsNewestInOrdinalOrder()
    {
        var store = Open(keepVersions: 2);
        var bytes = Snapshots.Bytes(1000, seed: 1);
        await CommitAsync(store, Snapshots.Info("fn-b-1", 1, bytes), bytes);
        await CommitAsync(store, Snapshots.Info("Fn-c-1", 1, bytes), bytes);
        for (var version = 1; version <= 3; version++)
        {
            await CommitAsync(store, Snapshots.Info("fn-a-1", version, bytes) with { CommittedAt = Snapshots.CommittedAt.AddMinutes(version) }, bytes);
        }

        var listed = await store.ListInstancesAsync(CancellationToken.None);

        Assert.Equal(
            [
                new StoredInstance("Fn-c-1", "resize", 1, 1, Snapshots.CommittedAt),
                new StoredInstance("fn-a-1", "resize", 3, 2, Snapshots.CommittedAt.AddMinutes(3)),
                new StoredInstance("fn-b-1", "resize", 1, 1, Snapshots.CommittedAt),
            ],
            listed);
    }

    [SkippableFact]
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

    [SkippableFact]
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

    [SkippableFact]
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

    [SkippableFact]
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

    [SkippableFact]
    public async Task CommitAsync_ContentDoesNotMatchChecksum_ReturnsInvalidAndStoresNothing()
    {
        var store = Open();
        var bytes = Snapshots.Bytes(2_500_000, seed: 1);
        var info = Snapshots.Info("fn-a-1", 1, bytes, sha256: Snapshots.Sha256(Snapshots.Bytes(5000, seed: 2)));

        var result = await CommitAsync(store, info, bytes);

        Assert.Equal(CommitOutcome.Invalid, result.Outcome);
        Assert.Contains("hashes to sha256", result.Reason, StringComparison.Ordinal);
        Assert.Null(await store.GetLatestAsync("fn-a-1", CancellationToken.None));
        Assert.Empty(await store.ListAsync("fn-a-1", CancellationToken.None));
        Assert.Empty(await store.ListInstancesAsync(CancellationToken.None));
    }

    [SkippableTheory]
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

    [SkippableFact]
    public async Task CommitAsync_CancelledWhileWriting_StoresNothingAndARetryCommits()
    {
        var store = Open();
        var bytes = Snapshots.Bytes(3_000_000, seed: 1);
        using var cancel = new CancellationTokenSource();
        using var content = new CancelAfterFirstRead(bytes, cancel);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.CommitAsync(Snapshots.Info("fn-a-1", 1, bytes), content, cancel.Token));

        Assert.True(content.Reads >= 1);
        Assert.Empty(await store.ListAsync("fn-a-1", CancellationToken.None));
        var retry = await CommitAsync(store, Snapshots.Info("fn-a-1", 1, bytes), bytes);
        Assert.Equal(CommitOutcome.Committed, retry.Outcome);
        Assert.Equal(bytes, await ReadAsync(store, "fn-a-1", 1));
    }

    [SkippableFact]
    public async Task GetLatestAsync_UnknownInstance_ReturnsNull()
    {
        var store = Open();

        Assert.Null(await store.GetLatestAsync("nobody", CancellationToken.None));
        Assert.Empty(await store.ListAsync("nobody", CancellationToken.None));
        Assert.Null(await store.OpenReadAsync("nobody", 1, CancellationToken.None));
    }

    [SkippableFact]
    public async Task OpenReadAsync_VersionPrunedWhileReading_StreamReadsWholeOriginal()
    {
        var store = Open(keepVersions: 1);
        var original = Snapshots.Bytes(2_500_000, seed: 1);
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

    [SkippableFact]
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

    [SkippableFact]
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

    [SkippableFact]
    public async Task CommitAsync_SameVersionFromTwoStoresAtOnce_OneCommitsTheOtherSeesIt()
    {
        // Two aggregators on one database (or two writers of one file) racing on one instance's version.
        var first = Open();
        var second = Open();
        var bytes = Snapshots.Bytes(2_000_000, seed: 5);
        var info = Snapshots.Info("fn-a-1", 3, bytes);

        var results = await Task.WhenAll(
            Task.Run(() => CommitAsync(first, info, bytes)),
            Task.Run(() => CommitAsync(second, info, bytes)));

        Assert.Equal([CommitOutcome.Committed, CommitOutcome.AlreadyCommitted], results.Select(r => r.Outcome).Order());
        Assert.Equal(bytes, await ReadAsync(first, "fn-a-1", 3));
    }

    // Streaming

    [SkippableFact]
    public async Task CommitAndRead_64MiBArchive_StreamedWithoutBufferingItWhole()
    {
        const long Size = 64L * 1024 * 1024;
        var store = Open();
        var sha256 = GeneratedContent.Sha256(Size, seed: 64);
        var info = Snapshots.Info("fn-big-1", 1, []) with { SizeBytes = Size, Sha256Hex = sha256 };
        await using (var warm = new GeneratedContent(1, seed: 1))
        {
            // The first commit of a store pays for its pools and prepared paths: not what is measured.
            await store.CommitAsync(Snapshots.Info("fn-warm-1", 1, [0]) with { Sha256Hex = GeneratedContent.Sha256(1, seed: 1) }, warm, CancellationToken.None);
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        await using (var content = new GeneratedContent(Size, seed: 64))
        {
            Assert.Equal(CommitOutcome.Committed, (await store.CommitAsync(info, content, CancellationToken.None)).Outcome);
        }

        var afterCommit = GC.GetTotalAllocatedBytes(precise: true);
        var commitTime = clock.Elapsed;
        string readSha;
        long readBytes = 0;
        await using (var latest = await store.GetLatestAsync("fn-big-1", CancellationToken.None))
        {
            Assert.Equal(Size, latest!.Info.SizeBytes);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[81_920];
            int read;
            while ((read = await latest.Content.ReadAsync(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                readBytes += read;
            }

            readSha = Convert.ToHexStringLower(hash.GetHashAndReset());
        }

        var afterRead = GC.GetTotalAllocatedBytes(precise: true);
        var readTime = clock.Elapsed - commitTime;
        Assert.Equal(Size, readBytes);
        Assert.Equal(sha256, readSha);

        // Whole, the archive would be 64 MiB of allocations on either side; streamed, each side allocates a small
        // fraction of it (a pooled 1 MiB chunk buffer at most, plus the drivers' bookkeeping).
        var committing = afterCommit - before;
        var reading = afterRead - afterCommit;
        // Printed for the record, never asserted (a speed is measured in the benchmarks, not asserted in a test).
        Console.WriteLine($"{GetType().Name}: 64 MiB commit allocated {committing / 1024} KiB in {commitTime.TotalMilliseconds:F0} ms (generating and hashing the content included), read allocated {reading / 1024} KiB in {readTime.TotalMilliseconds:F0} ms");
        Assert.True(committing < Size / 8, $"the commit allocated {committing} bytes for a {Size}-byte archive");
        Assert.True(reading < Size / 8, $"the read allocated {reading} bytes for a {Size}-byte archive");
    }

    // Assignments

    [SkippableFact]
    public void LoadAssignments_AfterReopen_SameAssignmentsWithTheirEpochs()
    {
        var store = Open();
        Assert.True(store.SaveAssignment(new StoredAssignment("fn-b-1", "b", "node-2", 1, "west")));
        Assert.True(store.SaveAssignment(new StoredAssignment("fn-a-1", "a", "node-1", 1, "east")));
        Assert.True(store.SaveAssignment(new StoredAssignment("fn-a-1", "a", "node-3", 2, "east")));
        Assert.True(store.SaveAssignment(new StoredAssignment("fn-c-1", "c", "node-1", 5, null)));
        Assert.True(store.SaveStop(new StoredStop("fn-c-1", "c", "node-1", DeleteState: true, DateTimeOffset.UnixEpoch)));

        var reopened = Reopen();

        Assert.Equal(
            [new StoredAssignment("fn-a-1", "a", "node-3", 2, "east"), new StoredAssignment("fn-b-1", "b", "node-2", 1, "west")],
            reopened.LoadAssignments());
        Assert.Equal([new StoredStop("fn-c-1", "c", "node-1", true, DateTimeOffset.UnixEpoch)], reopened.LoadStops());
    }

    [SkippableFact]
    public void SaveAssignment_OlderEpochThanKept_KeepsTheNewer()
    {
        var store = Open();
        store.SaveAssignment(new StoredAssignment("fn-a-1", "a", "node-2", 4, "east"));

        store.SaveAssignment(new StoredAssignment("fn-a-1", "a", "node-1", 3, "east"));

        Assert.Equal([new StoredAssignment("fn-a-1", "a", "node-2", 4, "east")], store.LoadAssignments());
    }

    [SkippableFact]
    public void SaveAssignment_AfterAStop_ForgetsTheStop_DeleteStopForgetsIt()
    {
        var store = Open();
        Assert.True(store.SaveStop(new StoredStop("fn-a-1", "a", "node-1", false, At)));
        Assert.True(store.SaveStop(new StoredStop("fn-b-1", "b", "node-1", false, At)));

        Assert.True(store.SaveAssignment(new StoredAssignment("fn-a-1", "a", "node-2", 2, null)));
        Assert.True(store.DeleteStop("fn-b-1"));

        var reopened = Reopen();
        Assert.Empty(reopened.LoadStops());
        Assert.Equal([new StoredAssignment("fn-a-1", "a", "node-2", 2, null)], reopened.LoadAssignments());
    }

    // Decision memory

    [SkippableFact]
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
    }

    [SkippableFact]
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

    [SkippableFact]
    public void SaveNodePenalties_Again_ReplacesTheWholeMemory()
    {
        var store = Open();
        store.SaveNodePenalties(new Dictionary<string, DateTimeOffset> { ["node-1"] = At, ["node-2"] = At });

        store.SaveNodePenalties(new Dictionary<string, DateTimeOffset> { ["node-3"] = At });

        Assert.Equal(["node-3"], Reopen().LoadNodePenalties().Keys);
    }

    [SkippableFact]
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

    [SkippableFact]
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

    [SkippableFact]
    public async Task LoadClusterHealth_UnknownStateInTheRow_LeavesThatClusterOut()
    {
        Open();
        await ExecuteAsync("""
            INSERT INTO decision_memory (key, value, updated_at)
            VALUES ('health/previous', '{"east":{"health":"recovering","healthyForMs":1500},"west":{"health":"sideways","healthyForMs":0}}', '2025-03-01T12:00:00Z')
            """);

        var loaded = Reopen().LoadClusterHealth();

        Assert.Equal(["east"], loaded.Keys);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), loaded["east"].HealthyFor);
    }

    [SkippableFact]
    public async Task LoadNodePenalties_ValueIsNotJson_Empty()
    {
        Open();
        await ExecuteAsync("INSERT INTO decision_memory (key, value, updated_at) VALUES ('placement/node-penalties', 'not json', '2025-03-01T12:00:00Z')");

        Assert.Empty(Reopen().LoadNodePenalties());
    }

    [SkippableFact]
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

    [SkippableFact]
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

    [SkippableFact]
    public void LoadClusterHistory_KeepSmallerThanStored_NewestOfEach()
    {
        Open().AppendClusterHistory([.. Enumerable.Range(1, 4).Select(m => ("east", Entry(m, "healthy", "unhealthy")))], 10);

        var loaded = Reopen().LoadClusterHistory(2);

        Assert.Equal([At.AddMinutes(3), At.AddMinutes(4)], loaded["east"].Select(e => e.At));
    }

    [SkippableFact]
    public void ReserveEventSequences_LowerMarkAfterHigher_KeepsTheHigher()
    {
        var store = Open();
        Assert.True(store.ReserveEventSequences("function/counter", 2000));
        Assert.True(store.ReserveEventSequences("function/counter", 1000));
        Assert.True(store.ReserveEventSequences("cluster/east", 1000));
        Assert.True(store.ReserveEventSequences("node/huge", ulong.MaxValue));

        var loaded = Reopen().LoadEventSequences();

        Assert.Equal(2000UL, loaded["function/counter"]);
        Assert.Equal(1000UL, loaded["cluster/east"]);
        Assert.Equal((ulong)long.MaxValue, loaded["node/huge"]);
        Assert.Equal(3, loaded.Count);
    }

    [SkippableFact]
    public async Task SaveScalingWindows_TableGone_ReturnsFalseAndDoesNotThrow()
    {
        var store = Open();
        await ExecuteAsync("DROP TABLE decision_memory");

        Assert.False(store.SaveScalingWindows(new Dictionary<string, ScalingPrevious> { ["counter"] = new(TimeSpan.Zero) }));
        Assert.True(store.SaveAssignment(new StoredAssignment("fn-a-1", "a", "node-1", 1, null)));
    }

    // Definitions

    [SkippableFact]
    public void LoadDefinitions_NothingKept_Null()
    {
        var store = Open();

        Assert.Null(store.LoadDefinitions("functions"));
        Assert.Contains("functions", store.DescribeDefinitions("functions"), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void SaveDefinitions_AfterReopen_EachKindAsLastSaved()
    {
        var store = Open();
        store.SaveDefinitions("functions", """[{"name":"a"}]""");
        store.SaveDefinitions("functions", """[{"name":"a"},{"name":"b"}]""");
        store.SaveDefinitions("cluster-groups", "[]");

        var reopened = Reopen();

        Assert.Equal("""[{"name":"a"},{"name":"b"}]""", reopened.LoadDefinitions("functions"));
        Assert.Equal("[]", reopened.LoadDefinitions("cluster-groups"));
        Assert.Null(reopened.LoadDefinitions("services"));
    }

    [SkippableFact]
    public void NodeOverrides_OnTheStore_SurviveARestart()
    {
        // A registry over the store, as the aggregator makes it (its node overrides: the smallest of the definitions).
        var overrides = new NodeOverrides(Open());
        overrides.Change("node-1", o => o with { Weight = 200 });
        overrides.Change("node-2", o => o with { Priority = -3 });
        overrides.Change("node-2", o => o with { Priority = null });

        var reopened = new NodeOverrides(Reopen());

        Assert.Equal(new NodeOverride("node-1", Weight: 200), reopened.Find("node-1"));
        Assert.Null(reopened.Find("node-2"));
    }

    [SkippableFact]
    public void DefinitionFile_ListNotValidInTheStore_StartRefusedNamingWhere()
    {
        var store = Open();
        store.SaveDefinitions("nodes", "not a list");

        var error = Assert.Throws<InvalidDataException>(() => new NodeOverrides(Reopen()));

        Assert.Contains(Reopen().DescribeDefinitions("nodes"), error.Message, StringComparison.Ordinal);
    }

    // Restart and migrations

    [SkippableFact]
    public async Task Reopen_EverythingKept_ReadBackByTheNewStore()
    {
        var store = Open(keepVersions: 2);
        for (var version = 1; version <= 3; version++)
        {
            var bytes = Snapshots.Bytes(1_500_000, seed: version);
            await CommitAsync(store, Snapshots.Info("fn-a-1", version, bytes), bytes);
        }

        Assert.True(store.SaveAssignment(new StoredAssignment("fn-a-1", "a", "node-1", 7, "east")));
        Assert.True(store.SaveNodePenalties(new Dictionary<string, DateTimeOffset> { ["node-2"] = At }));
        Assert.True(store.ReserveEventSequences("function/a", 4096));
        Assert.True(store.AppendClusterHistory([("east", Entry(1, "healthy", "unhealthy"))], 10));

        var second = Reopen(keepVersions: 2);

        await using var latest = await second.GetLatestAsync("fn-a-1", CancellationToken.None);
        Assert.NotNull(latest);
        Assert.Equal(Snapshots.Info("fn-a-1", 3, Snapshots.Bytes(1_500_000, seed: 3)), latest.Info);
        Assert.Equal(Snapshots.Bytes(1_500_000, seed: 3), await Snapshots.ReadAllAsync(latest.Content));
        Assert.Equal([3L, 2L], (await second.ListAsync("fn-a-1", CancellationToken.None)).Select(s => s.Version));
        Assert.Equal([new StoredAssignment("fn-a-1", "a", "node-1", 7, "east")], second.LoadAssignments());
        Assert.Equal([At], second.LoadNodePenalties().Values);
        Assert.Equal(4096UL, second.LoadEventSequences()["function/a"]);
        Assert.Single(second.LoadClusterHistory(10)["east"]);
    }

    [SkippableFact]
    public async Task Open_AgainAndAgain_MigrationsIdempotentAndNothingLost()
    {
        var bytes = Snapshots.Bytes(1000, seed: 1);
        await CommitAsync(Open(), Snapshots.Info("fn-a-1", 1, bytes), bytes);

        for (var i = 0; i < 3; i++)
        {
            Reopen();
        }

        Assert.Equal(1L, Convert.ToInt64(await ExecuteAsync("SELECT count(*) FROM schema_version")));
        Assert.Equal((long)SchemaVersion, Convert.ToInt64(await ExecuteAsync("SELECT version FROM schema_version")));
        Assert.Equal(bytes, await ReadAsync(Open(), "fn-a-1", 1));
    }

    [SkippableFact]
    public async Task Open_SeveralAtOnceOnAnEmptyDatabase_SchemaCreatedOnce()
    {
        // Aggregators started together on a new database: one creates the schema, the others find it.
        Skip.If(SkipReason is not null, SkipReason);
        var stores = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => Open())));

        Assert.Equal(4, stores.Length);
        Assert.Equal(1L, Convert.ToInt64(await ExecuteAsync("SELECT count(*) FROM schema_version")));
        Assert.True(stores[3].SaveAssignment(new StoredAssignment("fn-a-1", "a", "node-1", 1, null)));
        Assert.Single(stores[0].LoadAssignments());
    }

    [SkippableFact]
    public async Task Open_SchemaVersionFromNewerAggregator_Throws()
    {
        Open();
        await ExecuteAsync("UPDATE schema_version SET version = 99");

        var error = Assert.Throws<InvalidOperationException>(() => Reopen());

        Assert.Contains("schema version 99", error.Message, StringComparison.Ordinal);
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
}
