using Microsoft.Data.Sqlite;

namespace Drover.Aggregator.State;

/// <summary>
/// A read-only stream over one archive in <c>state.db</c>. It owns the connection and the read
/// transaction the blob was opened in: in WAL mode that transaction pins a consistent view, so a
/// commit that prunes this version while it is being read does not cut the read short.
/// </summary>
internal sealed class SqliteSnapshotStream : Stream
{
    private readonly SqliteConnection _connection;
    private readonly SqliteTransaction _transaction;
    private readonly SqliteBlob _blob;
    private bool _disposed;

    public SqliteSnapshotStream(SqliteConnection connection, SqliteTransaction transaction, SqliteBlob blob)
    {
        _connection = connection;
        _transaction = transaction;
        _blob = blob;
    }

    public override bool CanRead => !_disposed;

    public override bool CanSeek => !_disposed;

    public override bool CanWrite => false;

    public override long Length => _blob.Length;

    public override long Position
    {
        get => _blob.Position;
        set => _blob.Position = value;
    }

    public override int Read(byte[] buffer, int offset, int count) => _blob.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => _blob.Read(buffer);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // SQLite reads are synchronous; the pages come from its cache or the local disk.
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_blob.Read(buffer.Span));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin) => _blob.Seek(offset, origin);

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException("A stored snapshot is read-only.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("A stored snapshot is read-only.");

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _blob.Dispose();
            _transaction.Dispose();
            _connection.Dispose();
        }

        base.Dispose(disposing);
    }
}
