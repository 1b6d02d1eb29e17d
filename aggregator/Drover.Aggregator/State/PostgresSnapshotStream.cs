using Npgsql;

namespace Drover.Aggregator.State;

/// <summary>
/// A read-only, forward-only stream over one archive in PostgreSQL's <c>snapshot_chunks</c>. It owns the connection
/// and the REPEATABLE READ transaction the snapshot's row was read in, so every chunk is read from that same view: a
/// commit that prunes this version while it is being read does not cut the read short (as SQLite's WAL read does).
/// One chunk row is open at a time, read through <see cref="NpgsqlDataReader.GetStream"/> under
/// <see cref="System.Data.CommandBehavior.SequentialAccess"/>: the bytes go from the socket into the caller's
/// buffer through Npgsql's read buffer, and no chunk (let alone the archive) is ever held whole.
/// </summary>
internal sealed class PostgresSnapshotStream : Stream
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;
    private readonly NpgsqlCommand _select;
    private readonly NpgsqlParameter<int> _seq;
    private readonly long _length;
    private NpgsqlDataReader? _reader;
    private Stream? _chunk;
    private long _position;
    private bool _disposed;

    public PostgresSnapshotStream(NpgsqlConnection connection, NpgsqlTransaction transaction, long snapshotId, long length)
    {
        _connection = connection;
        _transaction = transaction;
        _length = length;
        _select = new NpgsqlCommand("SELECT data FROM snapshot_chunks WHERE snapshot_id = @id AND seq = @seq", connection, transaction);
        _select.Parameters.Add(new NpgsqlParameter<long>("id", snapshotId));
        _seq = new NpgsqlParameter<int>("seq", 0);
        _select.Parameters.Add(_seq);
    }

    public override bool CanRead => !_disposed;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException("A stored snapshot is read from its start to its end.");
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.Length == 0 || _position >= _length)
        {
            return 0;
        }

        while (true)
        {
            if (_chunk is null)
            {
                _reader = await _select.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, cancellationToken);
                if (!await _reader.ReadAsync(cancellationToken))
                {
                    throw new InvalidDataException($"chunk {_seq.TypedValue} of a stored snapshot is missing after {_position} of its {_length} bytes");
                }

                _chunk = _reader.GetStream(0);
            }

            var read = await _chunk.ReadAsync(buffer, cancellationToken);
            if (read > 0)
            {
                _position += read;
                return read;
            }

            await CloseChunkAsync();
            _seq.TypedValue++;
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // The archives are sent on asynchronously (the actuator, the link); a synchronous reader waits on the same path.
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("A stored snapshot is read from its start to its end.");

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException("A stored snapshot is read-only.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("A stored snapshot is read-only.");

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            await CloseChunkAsync();
            await _select.DisposeAsync();
            await _transaction.DisposeAsync();
            await _connection.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _chunk?.Dispose();
            _reader?.Dispose();
            _select.Dispose();
            _transaction.Dispose();
            _connection.Dispose();
        }

        base.Dispose(disposing);
    }

    private async ValueTask CloseChunkAsync()
    {
        if (_chunk is not null)
        {
            await _chunk.DisposeAsync();
            _chunk = null;
        }

        if (_reader is not null)
        {
            await _reader.DisposeAsync();
            _reader = null;
        }
    }
}
