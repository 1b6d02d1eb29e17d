using Drover.Protocol.Snapshots;

namespace Drover.Aggregator.State;

/// <summary>
/// One upload in progress at the <see cref="SnapshotAssembler"/>: the description its chunk 0 gave,
/// the temporary file the chunks are appended to, and the <see cref="SnapshotChunkReceiver"/> that
/// checks each chunk against what came before and counts and hashes what arrived.
/// </summary>
/// <remarks>
/// <see cref="Gate"/> admits one chunk of the upload at a time; the file and the receiver are only
/// touched while holding it. <see cref="Abandoned"/> may be set without it (by a restart or
/// by <see cref="SnapshotAssembler.PruneStale"/>); whoever holds or next takes the gate then disposes
/// the upload. The gate itself is never disposed: it has no wait handle, and a chunk still releasing
/// it must not meet a disposed semaphore.
/// </remarks>
internal sealed class SnapshotUpload : IDisposable
{
    private readonly FileStream _file;
    private readonly SnapshotChunkReceiver _receiver;
    private long _lastActivity;
    private volatile bool _abandoned;
    private bool _disposed;

    public SnapshotUpload(SnapshotChunk first, string path, long timestamp)
    {
        InstanceId = first.InstanceId;
        FunctionName = first.FunctionName;
        Version = first.Version;
        SourceNodeId = first.SourceNodeId;
        TakenAt = first.TakenAt;
        Path = path;
        _lastActivity = timestamp;

        // DeleteOnClose: disposing the upload, for whatever reason, removes its file. Files left by
        // a crash are removed when the assembler starts.
        _file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            Options = FileOptions.Asynchronous | FileOptions.DeleteOnClose,
            BufferSize = 0,
        });
        _receiver = new SnapshotChunkReceiver(first.TotalChunks, first.TotalSize, first.Sha256Hex);
    }

    public string InstanceId { get; }

    public string FunctionName { get; }

    public long Version { get; }

    public int TotalChunks => (int)_receiver.Count;

    public long TotalSize => _receiver.TotalSize;

    /// <summary>The declared SHA-256, lowercase.</summary>
    public string Sha256Hex => _receiver.Sha256;

    public string SourceNodeId { get; }

    public DateTimeOffset TakenAt { get; }

    public string Path { get; }

    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>The index the next chunk must have.</summary>
    public int NextChunk => (int)_receiver.NextIndex;

    /// <summary>How many bytes arrived so far.</summary>
    public long Received => _receiver.Received;

    /// <summary>Whether the last chunk arrived.</summary>
    public bool IsComplete => _receiver.IsComplete;

    /// <summary>When the last chunk arrived (a <see cref="TimeProvider"/> timestamp); read without the gate.</summary>
    public long LastActivity
    {
        get => Volatile.Read(ref _lastActivity);
        set => Volatile.Write(ref _lastActivity, value);
    }

    /// <summary>Set once the upload is out of the assembler's table; it takes no more chunks.</summary>
    public bool Abandoned
    {
        get => _abandoned;
        set => _abandoned = value;
    }

    /// <summary>Returns the first field of <paramref name="chunk"/> that differs from what chunk 0 said, or null.</summary>
    public string? Differs(SnapshotChunk chunk)
    {
        if (!string.Equals(chunk.FunctionName, FunctionName, StringComparison.Ordinal))
        {
            return $"function '{chunk.FunctionName}', not '{FunctionName}'";
        }

        if (_receiver.Differs(chunk.TotalChunks, chunk.TotalSize, chunk.Sha256Hex) is { } archive)
        {
            return archive;
        }

        if (!string.Equals(chunk.SourceNodeId, SourceNodeId, StringComparison.Ordinal))
        {
            return $"source node '{chunk.SourceNodeId}', not '{SourceNodeId}'";
        }

        return chunk.TakenAt != TakenAt ? $"takenAt {chunk.TakenAt:O}, not {TakenAt:O}" : null;
    }

    /// <summary>Whether <paramref name="index"/> is the next chunk's (<see cref="SnapshotChunkReceiver.CheckIndex"/>).</summary>
    public SnapshotChunkFault CheckIndex(int index) => _receiver.CheckIndex(index);

    /// <summary>Whether <paramref name="dataLength"/> more bytes would pass <see cref="TotalSize"/>.</summary>
    public bool Overflows(int dataLength) => _receiver.Overflows(dataLength);

    /// <summary>Appends a checked chunk's bytes to the file and the receiver. Call while holding <see cref="Gate"/>.</summary>
    public async Task AppendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await _file.WriteAsync(data, cancellationToken);
        _receiver.Append(data.Span);
    }

    /// <summary>Whether the bytes match the declared size and SHA-256 (<see cref="SnapshotChunkReceiver.Finish"/>). Call once, after the last chunk.</summary>
    public SnapshotChunkFault Finish() => _receiver.Finish();

    /// <summary>The SHA-256 of every byte appended, lowercase hex, once <see cref="Finish"/> was called.</summary>
    public string? ActualSha256 => _receiver.ActualSha256;

    /// <summary>The file, rewound, to be read by the store. Call while holding <see cref="Gate"/>.</summary>
    public async Task<Stream> RewindAsync(CancellationToken cancellationToken)
    {
        await _file.FlushAsync(cancellationToken);
        _file.Position = 0;
        return _file;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _file.Dispose();
        _receiver.Dispose();
    }
}
