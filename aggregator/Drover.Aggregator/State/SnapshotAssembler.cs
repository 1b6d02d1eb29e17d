using System.Data.Common;
using Drover.Decisions.Placement;
using Drover.Protocol.Snapshots;

namespace Drover.Aggregator.State;

/// <summary>
/// Puts snapshot uploads together from their chunks and commits each to the
/// <see cref="IStateStore"/> only once it is whole and verified. Many uploads run at once, keyed by
/// (instance, version); the chunks of each are appended in order to a temporary file under
/// <c>&lt;dataDirectory&gt;/incoming/</c>, never held in memory.
/// </summary>
/// <remarks>
/// <para>Nothing partly received ever becomes current: the store sees an upload only after its last
/// chunk, when its size and SHA-256 match what chunk 0 declared. Any refusal or failure discards
/// the upload and its file; the agent starts again from chunk 0.</para>
/// <para>The rules each chunk keeps are those of <see cref="SnapshotChunkReceiver"/>, the same as an
/// agent's for a restore: chunk 0 of an upload already in progress starts it again (an agent that
/// reconnected and retries); any other chunk out of order, or twice, is refused and the upload
/// discarded. Chunks must repeat chunk 0's description; here that includes the function, the source
/// node and when the snapshot was taken. Uploads silent for longer than the idle timeout are
/// discarded by <see cref="PruneStale"/>, which the host calls periodically
/// (<see cref="SnapshotUploadPruner"/>).</para>
/// <para>Disk used by uploads in progress is bounded by the maximum number of uploads times the
/// maximum snapshot size. One node may hold at most <see cref="MaxUploadsPerNode"/> of those uploads
/// and declare at most <see cref="MaxUploadBytesPerNode"/> bytes in them (each upload's total size,
/// reserved at chunk 0), so one busy or misbehaving agent cannot take every slot and the disk from
/// the others; its next upload is refused with the reason, and it retries later.</para>
/// <para>Fencing: given the instances' current epochs, an upload from a copy started under an older
/// epoch (<see cref="EpochFence"/>) is refused as <see cref="UploadOutcome.Fenced"/>, at its chunk 0
/// and again just before the store commits it (the instance may have moved in between).</para>
/// </remarks>
internal sealed partial class SnapshotAssembler : IDisposable
{
    public const string IncomingDirectoryName = "incoming";
    public const long DefaultMaxSnapshotBytes = Drover.Protocol.Snapshots.SnapshotLimits.MaxSnapshotBytes;
    public const int DefaultMaxConcurrentUploads = 64;
    public const int DefaultMaxUploadsPerNode = 4;
    public const long DefaultMaxUploadBytesPerNode = 1L << 30;
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromSeconds(60);

    private const string PartSuffix = ".part";

    private readonly IStateStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<SnapshotAssembler> _logger;
    private readonly string _incoming;
    private readonly object _gate = new();
    private readonly Dictionary<(string InstanceId, long Version), SnapshotUpload> _uploads = [];
    private readonly Func<string, long>? _currentEpoch;

    /// <param name="store">Where whole, verified snapshots are committed.</param>
    /// <param name="dataDirectory">The aggregator's data directory; uploads go to its <c>incoming/</c>.</param>
    /// <param name="time">The clock of the idle timeout and of <see cref="SnapshotInfo.CommittedAt"/>.</param>
    /// <param name="logger">Where refusals and discarded uploads are logged.</param>
    /// <param name="maxSnapshotBytes">The largest archive accepted.</param>
    /// <param name="maxConcurrentUploads">How many uploads may be in progress at once.</param>
    /// <param name="idleTimeout">How long an upload may go without a chunk before <see cref="PruneStale"/> discards it; 60 s when null.</param>
    /// <param name="maxUploadsPerNode">How many uploads one source node may have in progress at once.</param>
    /// <param name="maxUploadBytesPerNode">How many bytes one source node's uploads in progress may declare together.</param>
    /// <param name="currentEpoch">An instance's current fencing epoch (0: unknown); null: no fencing.</param>
    public SnapshotAssembler(
        IStateStore store,
        string dataDirectory,
        TimeProvider time,
        ILogger<SnapshotAssembler> logger,
        long maxSnapshotBytes = DefaultMaxSnapshotBytes,
        int maxConcurrentUploads = DefaultMaxConcurrentUploads,
        TimeSpan? idleTimeout = null,
        int maxUploadsPerNode = DefaultMaxUploadsPerNode,
        long maxUploadBytesPerNode = DefaultMaxUploadBytesPerNode,
        Func<string, long>? currentEpoch = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxUploadsPerNode, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxUploadBytesPerNode, 0);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSnapshotBytes, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrentUploads, 1);
        IdleTimeout = idleTimeout ?? DefaultIdleTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(IdleTimeout, TimeSpan.Zero, nameof(idleTimeout));

        _store = store;
        _currentEpoch = currentEpoch;
        _time = time;
        _logger = logger;
        MaxSnapshotBytes = maxSnapshotBytes;
        MaxConcurrentUploads = maxConcurrentUploads;
        MaxUploadsPerNode = maxUploadsPerNode;
        MaxUploadBytesPerNode = maxUploadBytesPerNode;
        _incoming = Path.Combine(Path.GetFullPath(dataDirectory), IncomingDirectoryName);
        Directory.CreateDirectory(_incoming);
        RemoveLeftovers();
    }

    public long MaxSnapshotBytes { get; }

    public int MaxConcurrentUploads { get; }

    /// <summary>How many uploads one source node may have in progress at once.</summary>
    public int MaxUploadsPerNode { get; }

    /// <summary>How many bytes (declared total sizes) one source node's uploads in progress may add up to.</summary>
    public long MaxUploadBytesPerNode { get; }

    public TimeSpan IdleTimeout { get; }

    /// <summary>How many uploads are in progress.</summary>
    public int ActiveUploads
    {
        get
        {
            lock (_gate)
            {
                return _uploads.Count;
            }
        }
    }

    /// <summary>
    /// Takes one chunk. Returns <see cref="UploadOutcome.Pending"/> while more are expected; after
    /// the last, the store's verdict. A refusal says why and discards the upload. Chunks of one
    /// upload should come one after the other (they do, from one agent stream); chunks of different
    /// uploads may come concurrently. A failure of the aggregator's disk or database is a refusal
    /// too. Cancelled, it throws: before the chunk is taken the upload goes on; once its bytes are
    /// being written or committed, the upload is discarded.
    /// </summary>
    public async Task<UploadResult> AcceptChunkAsync(SnapshotChunk chunk, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var key = (chunk.InstanceId, chunk.Version);
        var invalid = SnapshotChunkValidator.Validate(chunk, MaxSnapshotBytes);
        if (invalid is not null)
        {
            var discarded = Remove(key);
            if (discarded is not null)
            {
                Abandon(discarded);
            }

            return Refuse(chunk, invalid);
        }

        if (chunk.ChunkIndex == 0 && Fence(chunk) is { } fenced)
        {
            var discarded = Remove(key);
            if (discarded is not null)
            {
                Abandon(discarded);
            }

            return fenced;
        }

        var upload = chunk.ChunkIndex == 0 ? Start(chunk, out var refusal) : Find(chunk, out refusal);
        if (upload is null)
        {
            return Refuse(chunk, refusal!);
        }

        await upload.Gate.WaitAsync(cancellationToken);
        try
        {
            if (upload.Abandoned)
            {
                return Refuse(chunk, $"the upload of version {chunk.Version} of instance '{chunk.InstanceId}' was discarded (restarted, timed out or refused) while chunk {chunk.ChunkIndex} waited; start again from chunk 0");
            }

            return await TakeAsync(upload, chunk, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DbException)
        {
            // The aggregator's own disk or database failed: the agent keeps its snapshot and retries.
            Discard(upload);
            Log.UploadFailed(_logger, ex, chunk.InstanceId, chunk.Version, chunk.SourceNodeId);
            return UploadResult.Refused($"the aggregator could not store version {chunk.Version} of instance '{chunk.InstanceId}': {ex.Message}");
        }
        catch
        {
            // Cancelled (the stream ended) or worse: what the file holds is unknown, so it goes.
            Discard(upload);
            throw;
        }
        finally
        {
            upload.Gate.Release();

            // Abandoned while this chunk held the gate: whoever takes the gate first disposes it.
            if (upload.Abandoned && upload.Gate.Wait(0))
            {
                upload.Dispose();
                upload.Gate.Release();
            }
        }
    }

    /// <summary>
    /// Discards every upload that has had no chunk for longer than <see cref="IdleTimeout"/>
    /// (an agent that went away mid-upload). Returns how many were discarded.
    /// </summary>
    public int PruneStale()
    {
        List<SnapshotUpload> idle = [];
        lock (_gate)
        {
            foreach (var upload in _uploads.Values)
            {
                if (_time.GetElapsedTime(upload.LastActivity) > IdleTimeout)
                {
                    idle.Add(upload);
                }
            }

            foreach (var upload in idle)
            {
                _uploads.Remove((upload.InstanceId, upload.Version));
            }
        }

        foreach (var upload in idle)
        {
            Log.UploadIdle(_logger, upload.InstanceId, upload.Version, upload.SourceNodeId, upload.NextChunk, upload.TotalChunks, (long)IdleTimeout.TotalMilliseconds);
            Abandon(upload);
        }

        return idle.Count;
    }

    /// <summary>Discards every upload in progress.</summary>
    public void Dispose()
    {
        List<SnapshotUpload> all;
        lock (_gate)
        {
            all = [.. _uploads.Values];
            _uploads.Clear();
        }

        foreach (var upload in all)
        {
            Abandon(upload);
        }
    }

    private async Task<UploadResult> TakeAsync(SnapshotUpload upload, SnapshotChunk chunk, CancellationToken cancellationToken)
    {
        var order = upload.CheckIndex(chunk.ChunkIndex);
        if (order != SnapshotChunkFault.None)
        {
            Discard(upload);
            var what = order == SnapshotChunkFault.Duplicate
                ? $"chunk {chunk.ChunkIndex} was already received (a duplicate)"
                : $"chunk {chunk.ChunkIndex} arrived out of order; chunk {upload.NextChunk} was expected";
            return Refuse(chunk, $"{what} in the upload of version {chunk.Version} of instance '{chunk.InstanceId}'; the upload is discarded, start again from chunk 0");
        }

        var differs = upload.Differs(chunk);
        if (differs is not null)
        {
            Discard(upload);
            return Refuse(chunk, $"chunk {chunk.ChunkIndex} of version {chunk.Version} of instance '{chunk.InstanceId}' has {differs} as chunk 0 said; the upload is discarded, start again from chunk 0");
        }

        if (upload.Overflows(chunk.Data.Length))
        {
            Discard(upload);
            return Refuse(chunk, $"chunk {chunk.ChunkIndex} brings the upload of version {chunk.Version} of instance '{chunk.InstanceId}' to {upload.Received + chunk.Data.Length} bytes, more than its totalSize of {upload.TotalSize}; the upload is discarded");
        }

        await upload.AppendAsync(chunk.Data, cancellationToken);
        upload.LastActivity = _time.GetTimestamp();
        if (!upload.IsComplete)
        {
            return UploadResult.Pending;
        }

        // The last chunk: the upload leaves the table whatever happens next.
        Remove(upload);
        upload.Abandoned = true;
        switch (upload.Finish())
        {
            case SnapshotChunkFault.TooShort:
                return Refuse(chunk, $"the upload of version {chunk.Version} of instance '{chunk.InstanceId}' ended at {upload.Received} bytes after its last chunk, but its totalSize is {upload.TotalSize}");
            case SnapshotChunkFault.ChecksumMismatch:
                return Refuse(chunk, $"the {upload.Received} bytes received for version {chunk.Version} of instance '{chunk.InstanceId}' hash to sha256 {upload.ActualSha256}, not the declared {upload.Sha256Hex}");
        }

        if (Fence(chunk) is { } fenced)
        {
            return fenced;
        }

        var info = new SnapshotInfo(
            upload.InstanceId,
            upload.FunctionName,
            upload.Version,
            upload.TotalSize,
            upload.Sha256Hex,
            upload.SourceNodeId,
            upload.TakenAt,
            _time.GetUtcNow());
        var content = await upload.RewindAsync(cancellationToken);
        var result = await _store.CommitAsync(info, content, cancellationToken);
        switch (result.Outcome)
        {
            case CommitOutcome.Committed:
                Log.UploadCommitted(_logger, info.InstanceId, info.Version, info.SizeBytes, info.SourceNodeId);
                return UploadResult.Committed(info);
            case CommitOutcome.AlreadyCommitted:
                return UploadResult.AlreadyCommitted(info);
            default:
                return Refuse(chunk, result.Reason ?? $"the store refused version {info.Version} of instance '{info.InstanceId}' ({result.Outcome})");
        }
    }

    /// <summary>Starts an upload at its chunk 0, replacing one of the same key in progress.</summary>
    private SnapshotUpload? Start(SnapshotChunk chunk, out string? refusal)
    {
        refusal = null;
        SnapshotUpload started;
        try
        {
            // The file is named by a fresh id, never by what the peer sent.
            var path = Path.Combine(_incoming, Guid.NewGuid().ToString("N") + PartSuffix);
            started = new SnapshotUpload(chunk, path, _time.GetTimestamp());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.UploadFailed(_logger, ex, chunk.InstanceId, chunk.Version, chunk.SourceNodeId);
            refusal = $"the aggregator could not store version {chunk.Version} of instance '{chunk.InstanceId}': {ex.Message}";
            return null;
        }

        var key = (chunk.InstanceId, chunk.Version);
        SnapshotUpload? replaced;
        lock (_gate)
        {
            // A restart of the same upload gives its slot and bytes back before the limits are checked.
            _uploads.Remove(key, out replaced);
            refusal = OverLimitLocked(chunk);
            if (refusal is null)
            {
                _uploads.Add(key, started);
            }
        }

        if (replaced is not null)
        {
            Log.UploadRestarted(_logger, chunk.InstanceId, chunk.Version, chunk.SourceNodeId, replaced.NextChunk);
            Abandon(replaced);
        }

        if (refusal is not null)
        {
            started.Dispose();
            return null;
        }

        Log.UploadStarted(_logger, chunk.InstanceId, chunk.Version, chunk.TotalSize, chunk.TotalChunks, chunk.SourceNodeId);
        return started;
    }

    /// <summary>Why a new upload may not start now (the aggregator's or its node's limits), or null. Call under <see cref="_gate"/>.</summary>
    private string? OverLimitLocked(SnapshotChunk chunk)
    {
        if (_uploads.Count >= MaxConcurrentUploads)
        {
            return $"{MaxConcurrentUploads} snapshot uploads are already in progress, the most this aggregator takes at once; retry later";
        }

        var count = 0;
        long bytes = 0;
        foreach (var upload in _uploads.Values)
        {
            if (string.Equals(upload.SourceNodeId, chunk.SourceNodeId, StringComparison.Ordinal))
            {
                count++;
                bytes += upload.TotalSize;
            }
        }

        if (count >= MaxUploadsPerNode)
        {
            return $"node '{chunk.SourceNodeId}' already has {count} snapshot uploads in progress, the most one node may have (uploadsPerNode = {MaxUploadsPerNode}); retry version {chunk.Version} of instance '{chunk.InstanceId}' once one of them ends";
        }

        if (bytes + chunk.TotalSize > MaxUploadBytesPerNode)
        {
            return $"node '{chunk.SourceNodeId}' already has {bytes} bytes of snapshot uploads in progress; {chunk.TotalSize} more would pass the {MaxUploadBytesPerNode} one node may have (uploadBytesPerNode); retry version {chunk.Version} of instance '{chunk.InstanceId}' once one of them ends";
        }

        return null;
    }

    private SnapshotUpload? Find(SnapshotChunk chunk, out string? refusal)
    {
        lock (_gate)
        {
            if (_uploads.TryGetValue((chunk.InstanceId, chunk.Version), out var upload))
            {
                refusal = null;
                return upload;
            }
        }

        refusal = $"chunk {chunk.ChunkIndex} of version {chunk.Version} of instance '{chunk.InstanceId}' belongs to no upload in progress (it was refused, timed out or never started); start again from chunk 0";
        return null;
    }

    private SnapshotUpload? Remove((string InstanceId, long Version) key)
    {
        lock (_gate)
        {
            return _uploads.Remove(key, out var upload) ? upload : null;
        }
    }

    /// <summary>Takes the upload out of the table if it is still the one there (a restart may have replaced it).</summary>
    private void Remove(SnapshotUpload upload)
    {
        lock (_gate)
        {
            var key = (upload.InstanceId, upload.Version);
            if (_uploads.TryGetValue(key, out var current) && ReferenceEquals(current, upload))
            {
                _uploads.Remove(key);
            }
        }
    }

    /// <summary>Discards an upload whose gate the caller holds; the gate's release disposes it.</summary>
    private void Discard(SnapshotUpload upload)
    {
        Remove(upload);
        upload.Abandoned = true;
    }

    /// <summary>Marks an upload already out of the table as abandoned, and disposes it now if no chunk holds it.</summary>
    private static void Abandon(SnapshotUpload upload)
    {
        upload.Abandoned = true;
        if (upload.Gate.Wait(0))
        {
            upload.Dispose();
            upload.Gate.Release();
        }
    }

    /// <summary>The refusal of a chunk from a fenced-off copy (<see cref="EpochFence"/>), or null.</summary>
    private UploadResult? Fence(SnapshotChunk chunk)
    {
        if (_currentEpoch is null || chunk.Epoch <= 0)
        {
            return null;
        }

        var current = _currentEpoch(chunk.InstanceId);
        if (EpochFence.Check(chunk.InstanceId, current, chunk.Epoch) is not { } reason)
        {
            return null;
        }

        Log.UploadFenced(_logger, chunk.InstanceId, chunk.Version, chunk.SourceNodeId, chunk.Epoch, current);
        return UploadResult.Fenced(reason);
    }

    private UploadResult Refuse(SnapshotChunk chunk, string reason)
    {
        Log.ChunkRefused(_logger, chunk.InstanceId, chunk.Version, chunk.ChunkIndex, chunk.SourceNodeId, reason);
        return UploadResult.Refused(reason);
    }

    private void RemoveLeftovers()
    {
        var removed = 0;
        foreach (var path in Directory.EnumerateFiles(_incoming))
        {
            try
            {
                File.Delete(path);
                removed++;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Log.LeftoverNotRemoved(_logger, ex, path);
            }
        }

        if (removed > 0)
        {
            Log.LeftoversRemoved(_logger, removed, _incoming);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1320, EventName = "IncomingLeftoversRemoved", Level = LogLevel.Information,
            Message = "Removed {Count} unfinished snapshot uploads left in '{Directory}' by an earlier run.")]
        public static partial void LeftoversRemoved(ILogger logger, int count, string directory);

        [LoggerMessage(EventId = 1321, EventName = "IncomingLeftoverNotRemoved", Level = LogLevel.Warning,
            Message = "Could not remove the unfinished snapshot upload '{Path}'.")]
        public static partial void LeftoverNotRemoved(ILogger logger, Exception exception, string path);

        [LoggerMessage(EventId = 1322, EventName = "SnapshotUploadStarted", Level = LogLevel.Debug,
            Message = "Node '{SourceNodeId}' started uploading version {Version} of instance '{InstanceId}': {TotalSize} bytes in {TotalChunks} chunks.")]
        public static partial void UploadStarted(ILogger logger, string instanceId, long version, long totalSize, int totalChunks, string sourceNodeId);

        [LoggerMessage(EventId = 1323, EventName = "SnapshotUploadRestarted", Level = LogLevel.Information,
            Message = "Node '{SourceNodeId}' started the upload of version {Version} of instance '{InstanceId}' again; the earlier one, at chunk {NextChunk}, is discarded.")]
        public static partial void UploadRestarted(ILogger logger, string instanceId, long version, string sourceNodeId, int nextChunk);

        [LoggerMessage(EventId = 1324, EventName = "SnapshotChunkRefused", Level = LogLevel.Warning,
            Message = "Refused chunk {ChunkIndex} of version {Version} of instance '{InstanceId}' from node '{SourceNodeId}': {Reason}.")]
        public static partial void ChunkRefused(ILogger logger, string instanceId, long version, int chunkIndex, string sourceNodeId, string reason);

        [LoggerMessage(EventId = 1325, EventName = "SnapshotUploadIdle", Level = LogLevel.Warning,
            Message = "Discarded the upload of version {Version} of instance '{InstanceId}' from node '{SourceNodeId}' at chunk {NextChunk} of {TotalChunks}: no chunk for more than {TimeoutMs} ms.")]
        public static partial void UploadIdle(ILogger logger, string instanceId, long version, string sourceNodeId, int nextChunk, int totalChunks, long timeoutMs);

        [LoggerMessage(EventId = 1326, EventName = "SnapshotUploadCommitted", Level = LogLevel.Information,
            Message = "Committed version {Version} of instance '{InstanceId}' from node '{SourceNodeId}' ({SizeBytes} bytes).")]
        public static partial void UploadCommitted(ILogger logger, string instanceId, long version, long sizeBytes, string sourceNodeId);

        [LoggerMessage(EventId = 1327, EventName = "SnapshotUploadFailed", Level = LogLevel.Error,
            Message = "Could not store the upload of version {Version} of instance '{InstanceId}' from node '{SourceNodeId}'; the upload is discarded.")]
        public static partial void UploadFailed(ILogger logger, Exception exception, string instanceId, long version, string sourceNodeId);

        [LoggerMessage(EventId = 1328, EventName = "SnapshotUploadFenced", Level = LogLevel.Warning,
            Message = "Refused version {Version} of instance '{InstanceId}' from node '{SourceNodeId}' as fenced: that copy was started under epoch {Epoch}, and the instance is at epoch {CurrentEpoch} now. The copy is told to stop; the stored state is unchanged.")]
        public static partial void UploadFenced(ILogger logger, string instanceId, long version, string sourceNodeId, long epoch, long currentEpoch);
    }
}
