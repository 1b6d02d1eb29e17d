using System.Security.Cryptography;

namespace Drover.Aggregator.State;

/// <summary>
/// One upload in progress at the <see cref="SnapshotAssembler"/>: the description its chunk 0 gave,
/// the temporary file the chunks are appended to, and the running SHA-256 of what arrived.
/// </summary>
/// <remarks>
/// <see cref="Gate"/> admits one chunk of the upload at a time; the file, the hash and the counters
/// are only touched while holding it. <see cref="Abandoned"/> may be set without it (by a restart or
/// by <see cref="SnapshotAssembler.PruneStale"/>); whoever holds or next takes the gate then disposes
/// the upload. The gate itself is never disposed: it has no wait handle, and a chunk still releasing
/// it must not meet a disposed semaphore.
/// </remarks>
internal sealed class SnapshotUpload : IDisposable
{
    private readonly FileStream _file;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _lastActivity;
    private volatile bool _abandoned;
    private bool _disposed;

    public SnapshotUpload(SnapshotChunk first, string path, long timestamp)
    {
        InstanceId = first.InstanceId;
        FunctionName = first.FunctionName;
        Version = first.Version;
        TotalChunks = first.TotalChunks;
        TotalSize = first.TotalSize;
        Sha256Hex = first.Sha256Hex.ToLowerInvariant();
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
    }

    public string InstanceId { get; }

    public string FunctionName { get; }

    public long Version { get; }

    public int TotalChunks { get; }

    public long TotalSize { get; }

    /// <summary>The declared SHA-256, lowercase.</summary>
    public string Sha256Hex { get; }

    public string SourceNodeId { get; }

    public DateTimeOffset TakenAt { get; }

    public string Path { get; }

    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>The index the next chunk must have.</summary>
    public int NextChunk { get; private set; }

    /// <summary>How many bytes arrived so far.</summary>
    public long Received { get; private set; }

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

        if (chunk.TotalChunks != TotalChunks)
        {
            return $"count {chunk.TotalChunks}, not {TotalChunks}";
        }

        if (chunk.TotalSize != TotalSize)
        {
            return $"totalSize {chunk.TotalSize}, not {TotalSize}";
        }

        if (!string.Equals(chunk.Sha256Hex, Sha256Hex, StringComparison.OrdinalIgnoreCase))
        {
            return $"sha256 {chunk.Sha256Hex}, not {Sha256Hex}";
        }

        if (!string.Equals(chunk.SourceNodeId, SourceNodeId, StringComparison.Ordinal))
        {
            return $"source node '{chunk.SourceNodeId}', not '{SourceNodeId}'";
        }

        return chunk.TakenAt != TakenAt ? $"takenAt {chunk.TakenAt:O}, not {TakenAt:O}" : null;
    }

    /// <summary>Appends a chunk's bytes to the file and the hash. Call while holding <see cref="Gate"/>.</summary>
    public async Task AppendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await _file.WriteAsync(data, cancellationToken);
        _hash.AppendData(data.Span);
        Received += data.Length;
        NextChunk++;
    }

    /// <summary>The SHA-256 of every byte appended, lowercase hex. Call once, after the last chunk.</summary>
    public string FinishHash() => Convert.ToHexStringLower(_hash.GetHashAndReset());

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
        _hash.Dispose();
    }
}
