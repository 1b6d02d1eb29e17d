using Drover.Aggregator.State;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.State;

public sealed class SnapshotAssemblerTests : IDisposable
{
    private const int ChunkSize = 16 * 1024;

    private readonly TempDirectory _directory = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 10, 0, 0, TimeSpan.Zero));
    private readonly SqliteStateStore _store;
    private readonly SnapshotAssembler _assembler;

    public SnapshotAssemblerTests()
    {
        _store = new SqliteStateStore(_directory.Path, NullLogger<SqliteStateStore>.Instance);
        _assembler = Create();
    }

    public void Dispose()
    {
        _assembler.Dispose();
        _store.Dispose();
        _directory.Dispose();
    }

    private string Incoming => Path.Combine(_directory.Path, "incoming");

    private SnapshotAssembler Create(long maxSnapshotBytes = SnapshotAssembler.DefaultMaxSnapshotBytes, int maxConcurrentUploads = SnapshotAssembler.DefaultMaxConcurrentUploads) =>
        new(_store, _directory.Path, _time, NullLogger<SnapshotAssembler>.Instance, maxSnapshotBytes, maxConcurrentUploads, TimeSpan.FromSeconds(60));

    private Task<UploadResult> SendAsync(SnapshotChunk chunk) => _assembler.AcceptChunkAsync(chunk, CancellationToken.None);

    private async Task<List<UploadResult>> SendAllAsync(IEnumerable<SnapshotChunk> chunks)
    {
        var results = new List<UploadResult>();
        foreach (var chunk in chunks)
        {
            results.Add(await SendAsync(chunk));
        }

        return results;
    }

    private async Task<byte[]?> LatestBytesAsync(string instanceId)
    {
        await using var latest = await _store.GetLatestAsync(instanceId, CancellationToken.None);
        return latest is null ? null : await Snapshots.ReadAllAsync(latest.Content);
    }

    [Theory]
    [InlineData(0, 0, false)] // neither side knows epochs: as before
    [InlineData(3, 0, false)] // an older agent: not fenced
    [InlineData(0, 2, false)] // an instance taken from an older agent's report
    [InlineData(3, 3, false)]
    [InlineData(3, 4, false)] // newer than the aggregator knows: not older
    [InlineData(3, 2, true)]
    [InlineData(3, 1, true)]
    public async Task AcceptChunkAsync_ChunkEpochAgainstCurrent_CommittedOrFencedWithLatestUnchanged(long current, long sent, bool fenced)
    {
        var expected = fenced ? UploadOutcome.Fenced : UploadOutcome.Committed;
        using var assembler = new SnapshotAssembler(_store, _directory.Path, _time, NullLogger<SnapshotAssembler>.Instance, currentEpoch: id => id == "fn-a-1" ? current : 0);
        var first = Snapshots.Bytes(1000, seed: 1);
        var newer = Snapshots.Bytes(50_000, seed: 2);
        Assert.Equal(UploadOutcome.Committed, (await assembler.AcceptChunkAsync(Assert.Single(Snapshots.Chunks("fn-a-1", 1, first, ChunkSize, epoch: current)), CancellationToken.None)).Outcome);

        var results = new List<UploadResult>();
        foreach (var chunk in Snapshots.Chunks("fn-a-1", 2, newer, ChunkSize, epoch: sent))
        {
            // The first answer that is not Pending is the one acknowledged to the agent.
            results.Add(await assembler.AcceptChunkAsync(chunk, CancellationToken.None));
            if (results[^1].Outcome != UploadOutcome.Pending)
            {
                break;
            }
        }

        Assert.Equal(expected, results[^1].Outcome);
        Assert.Equal(expected == UploadOutcome.Committed ? newer : first, await LatestBytesAsync("fn-a-1"));
        if (expected == UploadOutcome.Fenced)
        {
            // Refused at chunk 0: nothing was written to disk for it, and the agent is told why.
            Assert.Single(results);
            Assert.Contains($"epoch {sent}", results[0].Reason, StringComparison.Ordinal);
            Assert.Empty(Directory.EnumerateFiles(Incoming));
        }
    }

    [Fact]
    public async Task AcceptChunkAsync_InstanceMovedDuringUpload_FencedBeforeTheCommit()
    {
        long current = 1;
        using var assembler = new SnapshotAssembler(_store, _directory.Path, _time, NullLogger<SnapshotAssembler>.Instance, currentEpoch: _ => current);
        var chunks = Snapshots.Chunks("fn-a-1", 1, Snapshots.Bytes(40_000, seed: 1), ChunkSize, epoch: 1);

        var first = await assembler.AcceptChunkAsync(chunks[0], CancellationToken.None);
        current = 2;
        var rest = new List<UploadResult>();
        foreach (var chunk in chunks.Skip(1))
        {
            rest.Add(await assembler.AcceptChunkAsync(chunk, CancellationToken.None));
        }

        Assert.Equal(UploadOutcome.Pending, first.Outcome);
        Assert.Equal(UploadOutcome.Fenced, rest[^1].Outcome);
        Assert.Null(await LatestBytesAsync("fn-a-1"));
        Assert.Equal(0, assembler.ActiveUploads);
    }

    [Fact]
    public async Task AcceptChunkAsync_ChunksInOrder_CommitsWholeSnapshot()
    {
        var bytes = Snapshots.Bytes(100_000, seed: 1);
        var chunks = Snapshots.Chunks("fn-a-1", 3, bytes, ChunkSize);

        var results = await SendAllAsync(chunks);

        Assert.Equal(7, chunks.Count);
        Assert.All(results.SkipLast(1), r => Assert.Equal(UploadOutcome.Pending, r.Outcome));
        var last = results[^1];
        Assert.Equal(UploadOutcome.Committed, last.Outcome);
        Assert.Equal(new SnapshotInfo("fn-a-1", "resize", 3, bytes.Length, Snapshots.Sha256(bytes), "node-1", Snapshots.TakenAt, _time.GetUtcNow()), last.Info);
        Assert.Equal(bytes, await LatestBytesAsync("fn-a-1"));
        Assert.Equal(0, _assembler.ActiveUploads);
        Assert.Empty(Directory.EnumerateFiles(Incoming));
    }

    [Fact]
    public async Task AcceptChunkAsync_SingleChunkAndEmptyArchive_Commit()
    {
        var one = Snapshots.Bytes(100, seed: 1);

        var small = await SendAsync(Assert.Single(Snapshots.Chunks("fn-a-1", 1, one, ChunkSize)));
        var empty = await SendAsync(Assert.Single(Snapshots.Chunks("fn-b-1", 1, [], ChunkSize)));

        Assert.Equal(UploadOutcome.Committed, small.Outcome);
        Assert.Equal(UploadOutcome.Committed, empty.Outcome);
        Assert.Equal(one, await LatestBytesAsync("fn-a-1"));
        Assert.Equal(Array.Empty<byte>(), await LatestBytesAsync("fn-b-1"));
    }

    [Fact]
    public async Task AcceptChunkAsync_LastChunkMissing_NothingBecomesCurrent()
    {
        var previous = Snapshots.Bytes(1000, seed: 9);
        await SendAllAsync(Snapshots.Chunks("fn-a-1", 1, previous, ChunkSize));
        var chunks = Snapshots.Chunks("fn-a-1", 2, Snapshots.Bytes(100_000, seed: 1), ChunkSize);

        var results = await SendAllAsync(chunks.SkipLast(1));

        Assert.All(results, r => Assert.Equal(UploadOutcome.Pending, r.Outcome));
        Assert.Equal(previous, await LatestBytesAsync("fn-a-1"));
        Assert.Equal([1L], (await _store.ListAsync("fn-a-1", CancellationToken.None)).Select(s => s.Version));
        Assert.Equal(1, _assembler.ActiveUploads);
    }

    [Fact]
    public async Task AcceptChunkAsync_ChecksumMismatch_RefusedAndNotCurrent()
    {
        var bytes = Snapshots.Bytes(50_000, seed: 1);
        var declared = Snapshots.Sha256(Snapshots.Bytes(50_000, seed: 2));

        var results = await SendAllAsync(Snapshots.Chunks("fn-a-1", 1, bytes, ChunkSize, sha256: declared));

        var last = results[^1];
        Assert.Equal(UploadOutcome.Refused, last.Outcome);
        Assert.Contains($"not the declared {declared}", last.Reason, StringComparison.Ordinal);
        Assert.Null(await LatestBytesAsync("fn-a-1"));
        Assert.Equal(0, _assembler.ActiveUploads);
        Assert.Empty(Directory.EnumerateFiles(Incoming));
    }

    [Fact]
    public async Task AcceptChunkAsync_CorruptedChunkData_RefusedAndNotCurrent()
    {
        var bytes = Snapshots.Bytes(50_000, seed: 1);
        var chunks = Snapshots.Chunks("fn-a-1", 1, bytes, ChunkSize);
        var corrupted = chunks[1].Data.ToArray();
        corrupted[100] ^= 0xFF;
        chunks[1] = chunks[1] with { Data = corrupted };

        var results = await SendAllAsync(chunks);

        Assert.Equal(UploadOutcome.Refused, results[^1].Outcome);
        Assert.Contains("hash to sha256", results[^1].Reason, StringComparison.Ordinal);
        Assert.Null(await LatestBytesAsync("fn-a-1"));
    }

    [Fact]
    public async Task AcceptChunkAsync_ChunkOutOfOrder_RefusedAndUploadDiscarded()
    {
        var bytes = Snapshots.Bytes(50_000, seed: 1);
        var chunks = Snapshots.Chunks("fn-a-1", 1, bytes, ChunkSize);
        await SendAsync(chunks[0]);

        var skipped = await SendAsync(chunks[2]);
        var late = await SendAsync(chunks[1]);

        Assert.Equal(UploadOutcome.Refused, skipped.Outcome);
        Assert.Contains("chunk 2 arrived out of order; chunk 1 was expected", skipped.Reason, StringComparison.Ordinal);
        Assert.Equal(UploadOutcome.Refused, late.Outcome);
        Assert.Contains("start again from chunk 0", late.Reason, StringComparison.Ordinal);
        Assert.Equal(0, _assembler.ActiveUploads);
        Assert.Empty(Directory.EnumerateFiles(Incoming));
        Assert.Null(await LatestBytesAsync("fn-a-1"));

        var retried = await SendAllAsync(chunks);
        Assert.Equal(UploadOutcome.Committed, retried[^1].Outcome);
        Assert.Equal(bytes, await LatestBytesAsync("fn-a-1"));
    }

    [Fact]
    public async Task AcceptChunkAsync_DuplicateChunk_RefusedAndUploadDiscarded()
    {
        var chunks = Snapshots.Chunks("fn-a-1", 1, Snapshots.Bytes(50_000, seed: 1), ChunkSize);
        await SendAsync(chunks[0]);
        await SendAsync(chunks[1]);

        var duplicate = await SendAsync(chunks[1]);
        var rest = await SendAllAsync(chunks.Skip(2));

        Assert.Equal(UploadOutcome.Refused, duplicate.Outcome);
        Assert.Contains("chunk 1 was already received (a duplicate)", duplicate.Reason, StringComparison.Ordinal);
        Assert.All(rest, r => Assert.Equal(UploadOutcome.Refused, r.Outcome));
        Assert.Null(await LatestBytesAsync("fn-a-1"));
        Assert.Empty(Directory.EnumerateFiles(Incoming));
    }

    [Fact]
    public async Task AcceptChunkAsync_ChunkZeroAgain_RestartsUpload()
    {
        var bytes = Snapshots.Bytes(50_000, seed: 1);
        var chunks = Snapshots.Chunks("fn-a-1", 1, bytes, ChunkSize);
        await SendAllAsync(chunks.Take(2));

        var results = await SendAllAsync(chunks);

        Assert.Equal(UploadOutcome.Committed, results[^1].Outcome);
        Assert.Equal(bytes, await LatestBytesAsync("fn-a-1"));
        Assert.Empty(Directory.EnumerateFiles(Incoming));
    }

    [Fact]
    public async Task AcceptChunkAsync_ChunkDescribesAnotherUpload_RefusedAndDiscarded()
    {
        var chunks = Snapshots.Chunks("fn-a-1", 1, Snapshots.Bytes(50_000, seed: 1), ChunkSize);
        await SendAsync(chunks[0]);

        var result = await SendAsync(chunks[1] with { SourceNodeId = "node-2" });

        Assert.Equal(UploadOutcome.Refused, result.Outcome);
        Assert.Contains("source node 'node-2', not 'node-1'", result.Reason, StringComparison.Ordinal);
        Assert.Equal(0, _assembler.ActiveUploads);
    }

    [Fact]
    public async Task AcceptChunkAsync_TotalSizeOverMaximum_RefusedAtFirstChunk()
    {
        using var assembler = Create(maxSnapshotBytes: 40_000);
        var chunks = Snapshots.Chunks("fn-a-1", 1, Snapshots.Bytes(40_001, seed: 1), ChunkSize);

        var result = await assembler.AcceptChunkAsync(chunks[0], CancellationToken.None);

        Assert.Equal(UploadOutcome.Refused, result.Outcome);
        Assert.StartsWith("totalSize = 40001: expected 0-40000 bytes", result.Reason, StringComparison.Ordinal);
        Assert.Equal(0, assembler.ActiveUploads);
        Assert.Empty(Directory.EnumerateFiles(Incoming));
    }

    [Fact]
    public async Task AcceptChunkAsync_ChunksCarryMoreThanTotalSize_Refused()
    {
        var bytes = Snapshots.Bytes(50_000, seed: 1);
        var chunks = Snapshots.Chunks("fn-a-1", 1, bytes, ChunkSize);
        var oversized = Snapshots.Bytes(ChunkSize * 3, seed: 2);
        await SendAsync(chunks[0]);

        var result = await SendAsync(chunks[1] with { Data = oversized });

        Assert.Equal(UploadOutcome.Refused, result.Outcome);
        Assert.Contains("more than its totalSize of 50000", result.Reason, StringComparison.Ordinal);
        Assert.Null(await LatestBytesAsync("fn-a-1"));
    }

    [Fact]
    public async Task AcceptChunkAsync_LastChunkShort_RefusedAndNotCurrent()
    {
        var bytes = Snapshots.Bytes(50_000, seed: 1);
        var chunks = Snapshots.Chunks("fn-a-1", 1, bytes, ChunkSize);
        chunks[^1] = chunks[^1] with { Data = chunks[^1].Data[..^10] };

        var results = await SendAllAsync(chunks);

        Assert.Equal(UploadOutcome.Refused, results[^1].Outcome);
        Assert.Contains("ended at 49990 bytes", results[^1].Reason, StringComparison.Ordinal);
        Assert.Null(await LatestBytesAsync("fn-a-1"));
    }

    [Fact]
    public async Task PruneStale_UploadIdleLongerThanTimeout_Discarded()
    {
        var chunks = Snapshots.Chunks("fn-a-1", 1, Snapshots.Bytes(50_000, seed: 1), ChunkSize);
        await SendAllAsync(chunks.Take(2));

        _time.Advance(TimeSpan.FromSeconds(60));
        var atTimeout = _assembler.PruneStale();
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var afterTimeout = _assembler.PruneStale();
        var next = await SendAsync(chunks[2]);

        Assert.Equal(0, atTimeout);
        Assert.Equal(1, afterTimeout);
        Assert.Equal(0, _assembler.ActiveUploads);
        Assert.Empty(Directory.EnumerateFiles(Incoming));
        Assert.Equal(UploadOutcome.Refused, next.Outcome);
        Assert.Contains("belongs to no upload in progress", next.Reason, StringComparison.Ordinal);
        Assert.Null(await LatestBytesAsync("fn-a-1"));
    }

    [Fact]
    public async Task PruneStale_UploadReceivingChunks_Kept()
    {
        var bytes = Snapshots.Bytes(100_000, seed: 1);
        var chunks = Snapshots.Chunks("fn-a-1", 1, bytes, ChunkSize);
        UploadResult last = UploadResult.Pending;

        foreach (var chunk in chunks)
        {
            _time.Advance(TimeSpan.FromSeconds(50));
            Assert.Equal(0, _assembler.PruneStale());
            last = await SendAsync(chunk);
        }

        Assert.Equal(UploadOutcome.Committed, last.Outcome);
        Assert.Equal(bytes, await LatestBytesAsync("fn-a-1"));
    }

    [Fact]
    public async Task AcceptChunkAsync_ConcurrentUploadsOfDifferentInstances_AllCommitted()
    {
        const int Instances = 24;
        var archives = Enumerable.Range(0, Instances).Select(i => Snapshots.Bytes(40_000 + (i * 1000), seed: i)).ToArray();

        var results = await Task.WhenAll(Enumerable.Range(0, Instances).Select(i => Task.Run(async () =>
        {
            UploadResult last = UploadResult.Pending;
            // Six nodes with four uploads each: every node at its uploadsPerNode, none over it.
            foreach (var chunk in Snapshots.Chunks($"fn-{i}", 1, archives[i], 4096))
            {
                last = await _assembler.AcceptChunkAsync(From(chunk, $"node-{i % 6}"), CancellationToken.None);
                await Task.Yield();
            }

            return last;
        })));

        Assert.All(results, r => Assert.Equal(UploadOutcome.Committed, r.Outcome));
        for (var i = 0; i < Instances; i++)
        {
            Assert.Equal(archives[i], await LatestBytesAsync($"fn-{i}"));
        }

        Assert.Equal(0, _assembler.ActiveUploads);
        Assert.Empty(Directory.EnumerateFiles(Incoming));
    }

    [Fact]
    public async Task AcceptChunkAsync_MoreUploadsThanMaximum_Refused()
    {
        using var assembler = Create(maxConcurrentUploads: 2);
        var bytes = Snapshots.Bytes(50_000, seed: 1);
        await assembler.AcceptChunkAsync(Snapshots.Chunks("fn-a-1", 1, bytes, ChunkSize)[0], CancellationToken.None);
        await assembler.AcceptChunkAsync(Snapshots.Chunks("fn-b-1", 1, bytes, ChunkSize)[0], CancellationToken.None);

        var third = await assembler.AcceptChunkAsync(Snapshots.Chunks("fn-c-1", 1, bytes, ChunkSize)[0], CancellationToken.None);
        var restart = await assembler.AcceptChunkAsync(Snapshots.Chunks("fn-a-1", 1, bytes, ChunkSize)[0], CancellationToken.None);

        Assert.Equal(UploadOutcome.Refused, third.Outcome);
        Assert.Contains("2 snapshot uploads are already in progress", third.Reason, StringComparison.Ordinal);
        Assert.Equal(UploadOutcome.Pending, restart.Outcome);
        Assert.Equal(2, assembler.ActiveUploads);
        Assert.Equal(2, Directory.EnumerateFiles(Incoming).Count());
    }

    [Fact]
    public async Task AcceptChunkAsync_SameSnapshotUploadedTwice_ReturnsAlreadyCommitted()
    {
        var bytes = Snapshots.Bytes(50_000, seed: 1);
        var chunks = Snapshots.Chunks("fn-a-1", 4, bytes, ChunkSize);
        await SendAllAsync(chunks);

        var again = await SendAllAsync(chunks);

        Assert.Equal(UploadOutcome.AlreadyCommitted, again[^1].Outcome);
        Assert.True(again[^1].IsStored);
        Assert.Single(await _store.ListAsync("fn-a-1", CancellationToken.None));
    }

    [Fact]
    public async Task AcceptChunkAsync_OlderVersionAfterNewer_RefusedAsStale()
    {
        await SendAllAsync(Snapshots.Chunks("fn-a-1", 5, Snapshots.Bytes(1000, seed: 5), ChunkSize));

        var results = await SendAllAsync(Snapshots.Chunks("fn-a-1", 4, Snapshots.Bytes(1000, seed: 4), ChunkSize));

        Assert.Equal(UploadOutcome.Refused, results[^1].Outcome);
        Assert.Contains("not newer than its latest committed version 5", results[^1].Reason, StringComparison.Ordinal);
        Assert.Equal(Snapshots.Bytes(1000, seed: 5), await LatestBytesAsync("fn-a-1"));
    }

    [Fact]
    public async Task AcceptChunkAsync_CancelledBeforeChunkTaken_UploadGoesOn()
    {
        var chunks = Snapshots.Chunks("fn-a-1", 1, Snapshots.Bytes(50_000, seed: 1), ChunkSize);
        await SendAsync(chunks[0]);
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _assembler.AcceptChunkAsync(chunks[1], cancel.Token));

        Assert.Equal(1, _assembler.ActiveUploads);
        var next = await SendAsync(chunks[1]);
        Assert.Equal(UploadOutcome.Pending, next.Outcome);
    }

    [Fact]
    public async Task AcceptChunkAsync_StoreFails_RefusedAndUploadDiscarded()
    {
        using var assembler = new SnapshotAssembler(new FailingStore(), _directory.Path, _time, NullLogger<SnapshotAssembler>.Instance);
        var chunks = Snapshots.Chunks("fn-a-1", 1, Snapshots.Bytes(50_000, seed: 1), ChunkSize);

        UploadResult last = UploadResult.Pending;
        foreach (var chunk in chunks)
        {
            last = await assembler.AcceptChunkAsync(chunk, CancellationToken.None);
        }

        Assert.Equal(UploadOutcome.Refused, last.Outcome);
        Assert.Contains("could not store version 1 of instance 'fn-a-1': disk full", last.Reason, StringComparison.Ordinal);
        Assert.Equal(0, assembler.ActiveUploads);
        Assert.Empty(Directory.EnumerateFiles(Incoming));
    }

    [Fact]
    public async Task AcceptChunkAsync_CancelledDuringCommit_ThrowsAndDiscardsUpload()
    {
        using var cancel = new CancellationTokenSource();
        using var assembler = new SnapshotAssembler(new CancellingStore(cancel), _directory.Path, _time, NullLogger<SnapshotAssembler>.Instance);
        var chunks = Snapshots.Chunks("fn-a-1", 1, Snapshots.Bytes(50_000, seed: 1), ChunkSize);
        foreach (var chunk in chunks.SkipLast(1))
        {
            await assembler.AcceptChunkAsync(chunk, cancel.Token);
        }

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => assembler.AcceptChunkAsync(chunks[^1], cancel.Token));

        Assert.Equal(0, assembler.ActiveUploads);
        Assert.Empty(Directory.EnumerateFiles(Incoming));
    }

    [Fact]
    public void Constructor_LeftoverIncomingFiles_Removed()
    {
        File.WriteAllText(Path.Combine(Incoming, "0123.part"), "half an upload");
        File.WriteAllText(Path.Combine(Incoming, "4567.part"), "another half");

        using var assembler = Create();

        Assert.Empty(Directory.EnumerateFiles(Incoming));
    }

    // Keyed by a case name: SnapshotChunk is internal, so the spoilers cannot be theory data themselves.
    private static readonly Dictionary<string, (string Field, Func<SnapshotChunk, SnapshotChunk> Spoil)> Spoilers = new()
    {
        ["empty instance id"] = ("instanceId", c => c with { InstanceId = "" }),
        ["instance id '..'"] = ("instanceId", c => c with { InstanceId = ".." }),
        ["instance id with a slash"] = ("instanceId", c => c with { InstanceId = "a/b" }),
        ["instance id of 65 characters"] = ("instanceId", c => c with { InstanceId = new string('i', 65) }),
        ["upper-case function"] = ("function", c => c with { FunctionName = "Resize" }),
        ["function of 64 characters"] = ("function", c => c with { FunctionName = new string('f', 64) }),
        ["empty source node"] = ("sourceNodeId", c => c with { SourceNodeId = "" }),
        ["version 0"] = ("version", c => c with { Version = 0 }),
        ["negative total size"] = ("totalSize", c => c with { TotalSize = -1 }),
        ["no chunks"] = ("count", c => c with { TotalChunks = 0 }),
        ["more chunks than bytes"] = ("count", c => c with { TotalChunks = 50_001 }),
        ["negative index"] = ("index", c => c with { ChunkIndex = -1 }),
        ["index past count"] = ("index", c => c with { ChunkIndex = 4 }),
        ["empty data"] = ("data", c => c with { Data = ReadOnlyMemory<byte>.Empty }),
        ["short checksum"] = ("sha256", c => c with { Sha256Hex = "abc" }),
        ["checksum not hex"] = ("sha256", c => c with { Sha256Hex = new string('g', 64) }),
    };

    public static TheoryData<string> BadChunks => new(Spoilers.Keys);

    [Theory]
    [MemberData(nameof(BadChunks))]
    public async Task AcceptChunkAsync_BadField_RefusedNamingField(string badCase)
    {
        var (field, spoil) = Spoilers[badCase];
        var chunk = spoil(Snapshots.Chunks("fn-a-1", 1, Snapshots.Bytes(50_000, seed: 1), ChunkSize)[0]);

        var result = await SendAsync(chunk);

        Assert.Equal(UploadOutcome.Refused, result.Outcome);
        Assert.StartsWith($"{field} = ", result.Reason, StringComparison.Ordinal);
        Assert.Contains("expected", result.Reason, StringComparison.Ordinal);
        Assert.Equal(0, _assembler.ActiveUploads);
    }

    [Fact]
    public async Task AcceptChunkAsync_BadChunkForUploadInProgress_DiscardsIt()
    {
        var chunks = Snapshots.Chunks("fn-a-1", 1, Snapshots.Bytes(50_000, seed: 1), ChunkSize);
        await SendAsync(chunks[0]);

        var result = await SendAsync(chunks[1] with { Sha256Hex = "not hex" });

        Assert.Equal(UploadOutcome.Refused, result.Outcome);
        Assert.Equal(0, _assembler.ActiveUploads);
        Assert.Empty(Directory.EnumerateFiles(Incoming));
    }

    private static SnapshotChunk From(SnapshotChunk chunk, string node) => chunk with { SourceNodeId = node };

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(4, 4)]
    public async Task AcceptChunkAsync_NodeAtUploadsPerNode_RefusesItsNextUploadNamingTheLimit(int perNode, int started)
    {
        using var assembler = new SnapshotAssembler(_store, _directory.Path, _time, NullLogger<SnapshotAssembler>.Instance, idleTimeout: TimeSpan.FromSeconds(60), maxUploadsPerNode: perNode);
        var bytes = Snapshots.Bytes(40_000, seed: 1);
        for (var i = 0; i < started; i++)
        {
            Assert.Equal(UploadOutcome.Pending, (await assembler.AcceptChunkAsync(Snapshots.Chunks($"fn-a-{i}", 1, bytes, ChunkSize)[0], CancellationToken.None)).Outcome);
        }

        var refused = await assembler.AcceptChunkAsync(Snapshots.Chunks("fn-x-1", 1, bytes, ChunkSize)[0], CancellationToken.None);
        var otherNode = await assembler.AcceptChunkAsync(From(Snapshots.Chunks("fn-y-1", 1, bytes, ChunkSize)[0], "node-2"), CancellationToken.None);

        Assert.Equal(UploadOutcome.Refused, refused.Outcome);
        Assert.Contains($"uploadsPerNode = {perNode}", refused.Reason, StringComparison.Ordinal);
        Assert.Contains("'node-1'", refused.Reason, StringComparison.Ordinal);
        Assert.Equal(UploadOutcome.Pending, otherNode.Outcome);
        Assert.Equal(started + 1, assembler.ActiveUploads);
    }

    [Fact]
    public async Task AcceptChunkAsync_NodeUploadsEnd_FreesItsSlotForTheNext()
    {
        using var assembler = new SnapshotAssembler(_store, _directory.Path, _time, NullLogger<SnapshotAssembler>.Instance, idleTimeout: TimeSpan.FromSeconds(60), maxUploadsPerNode: 1);
        var bytes = Snapshots.Bytes(40_000, seed: 1);
        var first = Snapshots.Chunks("fn-a-1", 1, bytes, ChunkSize);
        await assembler.AcceptChunkAsync(first[0], CancellationToken.None);
        Assert.Equal(UploadOutcome.Refused, (await assembler.AcceptChunkAsync(Snapshots.Chunks("fn-b-1", 1, bytes, ChunkSize)[0], CancellationToken.None)).Outcome);

        // Chunk 0 again restarts the same upload: it does not count against itself.
        Assert.Equal(UploadOutcome.Pending, (await assembler.AcceptChunkAsync(first[0], CancellationToken.None)).Outcome);
        foreach (var chunk in first.Skip(1))
        {
            await assembler.AcceptChunkAsync(chunk, CancellationToken.None);
        }

        var next = await assembler.AcceptChunkAsync(Snapshots.Chunks("fn-b-1", 1, bytes, ChunkSize)[0], CancellationToken.None);

        Assert.Equal(UploadOutcome.Pending, next.Outcome);
    }

    [Theory]
    [InlineData(100_000, 60_000, 40_000, false)]
    [InlineData(100_000, 60_000, 40_001, true)]
    [InlineData(100_000, 0, 100_001, true)]
    public async Task AcceptChunkAsync_AgainstUploadBytesPerNode_RefusesWhatWouldPassIt(long limit, int inFlight, int next, bool refused)
    {
        using var assembler = new SnapshotAssembler(_store, _directory.Path, _time, NullLogger<SnapshotAssembler>.Instance, idleTimeout: TimeSpan.FromSeconds(60), maxUploadBytesPerNode: limit);
        if (inFlight > 0)
        {
            var held = Snapshots.Chunks("fn-a-1", 1, Snapshots.Bytes(inFlight, seed: 1), ChunkSize);
            Assert.Equal(UploadOutcome.Pending, (await assembler.AcceptChunkAsync(held[0], CancellationToken.None)).Outcome);
        }

        var result = await assembler.AcceptChunkAsync(Snapshots.Chunks("fn-b-1", 1, Snapshots.Bytes(next, seed: 2), ChunkSize)[0], CancellationToken.None);

        Assert.Equal(refused ? UploadOutcome.Refused : UploadOutcome.Pending, result.Outcome);
        if (refused)
        {
            Assert.Contains("uploadBytesPerNode", result.Reason, StringComparison.Ordinal);
        }
    }

    /// <summary>A store whose disk is full.</summary>
    private sealed class FailingStore : IStateStore
    {
        public Task<CommitResult> CommitAsync(SnapshotInfo info, Stream content, CancellationToken cancellationToken) =>
            throw new IOException("disk full");

        public Task<StoredSnapshot?> GetLatestAsync(string instanceId, CancellationToken cancellationToken) => Task.FromResult<StoredSnapshot?>(null);

        public Task<IReadOnlyList<SnapshotInfo>> ListAsync(string instanceId, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<SnapshotInfo>>([]);

        public Task<Stream?> OpenReadAsync(string instanceId, long version, CancellationToken cancellationToken) => Task.FromResult<Stream?>(null);

        public Task<IReadOnlyList<StoredInstance>> ListInstancesAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<StoredInstance>>([]);

        public Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>A store whose caller goes away while it commits.</summary>
    private sealed class CancellingStore(CancellationTokenSource cancel) : IStateStore
    {
        public async Task<CommitResult> CommitAsync(SnapshotInfo info, Stream content, CancellationToken cancellationToken)
        {
            await cancel.CancelAsync();
            cancellationToken.ThrowIfCancellationRequested();
            return CommitResult.Committed(info.Version);
        }

        public Task<StoredSnapshot?> GetLatestAsync(string instanceId, CancellationToken cancellationToken) => Task.FromResult<StoredSnapshot?>(null);

        public Task<IReadOnlyList<SnapshotInfo>> ListAsync(string instanceId, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<SnapshotInfo>>([]);

        public Task<Stream?> OpenReadAsync(string instanceId, long version, CancellationToken cancellationToken) => Task.FromResult<Stream?>(null);

        public Task<IReadOnlyList<StoredInstance>> ListInstancesAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<StoredInstance>>([]);

        public Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
