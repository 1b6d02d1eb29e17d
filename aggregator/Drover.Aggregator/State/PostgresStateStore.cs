using Npgsql;
using NpgsqlTypes;

namespace Drover.Aggregator.State;

/// <summary>
/// The persistent state storage in PostgreSQL (<c>store: postgres</c>), for deployments that run more than one
/// aggregator on one database (issue 21). It keeps what <see cref="SqliteStateStore"/> keeps, in tables of the same
/// names: <c>snapshots</c> (one row per kept version), <c>assignments</c> and <c>pending_stops</c>
/// (<see cref="IAssignmentStore"/>), and the decision memory (<see cref="IDecisionMemoryStore"/>, in
/// <c>PostgresStateStore.DecisionMemory.cs</c>). The schema is versioned in <c>schema_version</c> and migrated at
/// start (<see cref="PostgresSchema"/>).
/// </summary>
/// <remarks>
/// <para>Archives are <b>chunked bytea rows</b> (<c>snapshot_chunks</c>: the snapshot's id, a sequence number, at most
/// <see cref="ChunkBytes"/> bytes), not large objects. A commit writes one chunk at a time from a pooled buffer; a
/// read (<see cref="PostgresSnapshotStream"/>) streams one row at a time from the socket. Large objects would stream
/// too, but they live outside the tables: deleting a snapshot's row leaves its object behind unless every path
/// unlinks it (or vacuumlo runs), logical replication does not carry them, and their access rights are separate from
/// the tables'. Rows are deleted with their snapshot (<c>ON DELETE CASCADE</c>), replicated, dumped and restored like
/// everything else. The cost is TOAST's (about 0.2 % on top of the bytes); 1 MiB rows keep it and the number of rows
/// small while bounding what one row holds in either process.</para>
/// <para>Durability: every write transaction sets <c>synchronous_commit = on</c> for itself, so a commit
/// acknowledged to an agent is in the server's flushed WAL whatever the server's default.</para>
/// <para>Concurrency: PostgreSQL takes many writers; commits of one instance are serialised by a transaction-level
/// advisory lock on the instance (<see cref="PostgresSchema.InstanceLockClass"/>), which also holds between
/// aggregators sharing the database, so the latest-version checks and the insert see the same latest version.
/// Commits of different instances run side by side.</para>
/// </remarks>
internal sealed partial class PostgresStateStore : IAggregatorStore
{
    /// <summary>The most bytes one <c>snapshot_chunks</c> row holds.</summary>
    public const int ChunkBytes = 1024 * 1024;

    private const string InfoColumns =
        "id, instance_id, function_name, version, size_bytes, sha256, source_node_id, taken_at, committed_at";

    private readonly NpgsqlDataSource _dataSource;
    private readonly int _keepVersions;
    private readonly ILogger<PostgresStateStore> _logger;

    /// <summary>Connects, and creates or migrates the schema.</summary>
    /// <param name="connectionString">An Npgsql connection string (host, port, database, username, password, ...).</param>
    /// <param name="logger">Where commits, refusals and pruning are logged.</param>
    /// <param name="keepVersions">How many of the newest versions of each instance are kept (at least 1).</param>
    /// <exception cref="NpgsqlException">The server cannot be reached, or refused the credentials or a statement.</exception>
    /// <exception cref="InvalidOperationException">The database holds a schema this code does not know.</exception>
    public PostgresStateStore(string connectionString, ILogger<PostgresStateStore> logger, int keepVersions = SqliteStateStore.DefaultKeepVersions)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        ArgumentOutOfRangeException.ThrowIfLessThan(keepVersions, 1);
        _keepVersions = keepVersions;
        _logger = logger;
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        Description = $"postgres://{builder.Host}:{builder.Port}/{builder.Database}";
        _dataSource = NpgsqlDataSource.Create(builder);
        try
        {
            using var connection = _dataSource.OpenConnection();
            var from = PostgresSchema.Migrate(connection, Description);
            if (from != PostgresSchema.Version)
            {
                Log.Migrated(_logger, Description, from, PostgresSchema.Version);
            }
        }
        catch (NpgsqlException ex)
        {
            _dataSource.Dispose();

            // Npgsql names the host and port at most; say which store and which key, never the credentials.
            throw new NpgsqlException($"the state store '{Description}' (store: postgres, postgresConnectionStringFile) cannot be opened: {ex.Message}", ex);
        }
        catch
        {
            _dataSource.Dispose();
            throw;
        }

        Log.Opened(_logger, Description, PostgresSchema.Version, _keepVersions);
    }

    /// <summary>The server and database, without credentials: what the logs and errors name.</summary>
    public string Description { get; }

    public async Task<StoredSnapshot?> GetLatestAsync(string instanceId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        return await OpenSnapshotAsync(instanceId, version: null, cancellationToken);
    }

    public async Task<Stream?> OpenReadAsync(string instanceId, long version, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        var snapshot = await OpenSnapshotAsync(instanceId, version, cancellationToken);
        return snapshot?.Content;
    }

    public async Task<IReadOnlyList<SnapshotInfo>> ListAsync(string instanceId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        await using var select = _dataSource.CreateCommand($"SELECT {InfoColumns} FROM snapshots WHERE instance_id = @instance ORDER BY version DESC");
        select.Parameters.AddWithValue("instance", instanceId);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var list = new List<SnapshotInfo>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(ReadInfo(reader));
        }

        return list;
    }

    public async Task<IReadOnlyList<StoredInstance>> ListInstancesAsync(CancellationToken cancellationToken)
    {
        await using var select = _dataSource.CreateCommand("""
            SELECT DISTINCT ON (instance_id) instance_id, function_name, version,
                   count(*) OVER (PARTITION BY instance_id), committed_at
            FROM snapshots ORDER BY instance_id, version DESC
            """);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var list = new List<StoredInstance>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new StoredInstance(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), (int)reader.GetInt64(3), reader.GetFieldValue<DateTimeOffset>(4)));
        }

        // DISTINCT ON sorts by the database's collation; instance ids are compared as the aggregator compares them.
        list.Sort((a, b) => string.CompareOrdinal(a.InstanceId, b.InstanceId));
        return list;
    }

    public async Task<CommitResult> CommitAsync(SnapshotInfo info, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentException.ThrowIfNullOrEmpty(info.InstanceId);
        ArgumentOutOfRangeException.ThrowIfNegative(info.SizeBytes);

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);

        // Disposed without CommitAsync (a refusal, an exception, a cancellation), the transaction rolls back and
        // leaves no trace; the advisory lock goes with it.
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockInstanceAsync(connection, transaction, info.InstanceId, cancellationToken);

        var (latest, kept) = await LatestAndKeptAsync(connection, transaction, info.InstanceId, info.Version, cancellationToken);
        if (CommitResult.Refusal(info, latest, kept) is { } refused)
        {
            if (refused.Outcome == CommitOutcome.AlreadyCommitted)
            {
                Log.AlreadyCommitted(_logger, info.InstanceId, info.Version);
            }
            else
            {
                Log.Stale(_logger, info.InstanceId, info.Version, refused.Reason!);
            }

            return refused;
        }

        var id = await InsertAsync(connection, transaction, info, cancellationToken);
        var invalid = await WriteContentAsync(connection, transaction, id, info, content, cancellationToken);
        if (invalid is not null)
        {
            Log.Invalid(_logger, info.InstanceId, info.Version, invalid);
            return CommitResult.Invalid(latest ?? 0, invalid);
        }

        var pruned = await PruneAsync(connection, transaction, info.InstanceId, cancellationToken);
        await FenceAsync(connection, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        Log.Committed(_logger, info.InstanceId, info.Version, info.SizeBytes, info.SourceNodeId, pruned);
        return CommitResult.Committed(info.Version);
    }

    public async Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockInstanceAsync(connection, transaction, instanceId, cancellationToken);
        await using var delete = new NpgsqlCommand("DELETE FROM snapshots WHERE instance_id = @instance", connection, transaction);
        delete.Parameters.AddWithValue("instance", instanceId);
        var deleted = await delete.ExecuteNonQueryAsync(cancellationToken);
        await FenceAsync(connection, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (deleted > 0)
        {
            Log.InstanceDeleted(_logger, instanceId, deleted);
        }
    }

    public IReadOnlyList<StoredAssignment> LoadAssignments()
    {
        using var select = _dataSource.CreateCommand("SELECT instance_id, function_name, node_id, epoch, home_cluster FROM assignments");
        using var reader = select.ExecuteReader();
        var list = new List<StoredAssignment>();
        while (reader.Read())
        {
            list.Add(new StoredAssignment(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        }

        list.Sort((a, b) => string.CompareOrdinal(a.InstanceId, b.InstanceId));
        Log.AssignmentsLoaded(_logger, list.Count);
        return list;
    }

    public bool SaveAssignment(StoredAssignment assignment)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        ArgumentException.ThrowIfNullOrEmpty(assignment.InstanceId);

        // The epoch guard keeps epochs moving forward even should two writes cross (two aggregators, later).
        return WriteAssignment(assignment.InstanceId, batch =>
        {
            batch.BatchCommands.Add(Command(
                """
                INSERT INTO assignments (instance_id, function_name, node_id, epoch, home_cluster)
                VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (instance_id) DO UPDATE SET
                    function_name = excluded.function_name, node_id = excluded.node_id,
                    epoch = excluded.epoch, home_cluster = excluded.home_cluster
                WHERE excluded.epoch >= assignments.epoch
                """,
                assignment.InstanceId, assignment.Function, assignment.NodeId, assignment.Epoch, (object?)assignment.HomeCluster ?? DBNull.Value));
            batch.BatchCommands.Add(Command("DELETE FROM pending_stops WHERE instance_id = $1", assignment.InstanceId));
        });
    }

    public IReadOnlyList<StoredStop> LoadStops()
    {
        using var select = _dataSource.CreateCommand("SELECT instance_id, function_name, node_id, delete_state, decided_at FROM pending_stops");
        using var reader = select.ExecuteReader();
        var list = new List<StoredStop>();
        while (reader.Read())
        {
            list.Add(new StoredStop(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetBoolean(3), reader.GetFieldValue<DateTimeOffset>(4)));
        }

        list.Sort((a, b) => string.CompareOrdinal(a.InstanceId, b.InstanceId));
        Log.StopsLoaded(_logger, list.Count);
        return list;
    }

    public bool SaveStop(StoredStop stop)
    {
        ArgumentNullException.ThrowIfNull(stop);
        ArgumentException.ThrowIfNullOrEmpty(stop.InstanceId);
        return WriteAssignment(stop.InstanceId, batch =>
        {
            batch.BatchCommands.Add(Command("DELETE FROM assignments WHERE instance_id = $1", stop.InstanceId));
            batch.BatchCommands.Add(Command(
                """
                INSERT INTO pending_stops (instance_id, function_name, node_id, delete_state, decided_at)
                VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (instance_id) DO UPDATE SET
                    function_name = excluded.function_name, node_id = excluded.node_id,
                    delete_state = excluded.delete_state, decided_at = excluded.decided_at
                """,
                stop.InstanceId, stop.Function, stop.NodeId, stop.DeleteState, stop.DecidedAt.ToUniversalTime()));
        });
    }

    public bool DeleteStop(string instanceId)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        return WriteAssignment(instanceId, batch => batch.BatchCommands.Add(Command("DELETE FROM pending_stops WHERE instance_id = $1", instanceId)));
    }

    public string? LoadDefinitions(string kind)
    {
        ArgumentException.ThrowIfNullOrEmpty(kind);
        using var select = _dataSource.CreateCommand("SELECT value FROM definitions WHERE kind = $1");
        select.Parameters.Add(new NpgsqlParameter { Value = kind });
        return select.ExecuteScalar() as string;
    }

    public void SaveDefinitions(string kind, string json)
    {
        ArgumentException.ThrowIfNullOrEmpty(kind);
        ArgumentNullException.ThrowIfNull(json);

        // Thrown on, as a file that cannot be written is: the change is refused and the registry keeps the old list.
        using var connection = _dataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SET LOCAL synchronous_commit = on"));
        Fence(batch);
        batch.BatchCommands.Add(Command(
            """
            INSERT INTO definitions (kind, value, updated_at) VALUES ($1, $2, now())
            ON CONFLICT (kind) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
            """,
            kind,
            json));
        batch.ExecuteNonQuery();
        transaction.Commit();
    }

    public string DescribeDefinitions(string kind) => $"{Description} (definitions '{kind}')";

    /// <summary>Closes the pooled connections; a stream still open closes its own connection when disposed.</summary>
    public void Dispose() => _dataSource.Dispose();

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }

    /// <summary>One write of the assignments or pending stops, in its own durable transaction; false (logged) when the store failed.</summary>
    private bool WriteAssignment(string instanceId, Action<NpgsqlBatch> prepare)
        => WriteDurably(prepare, ex => Log.AssignmentWriteFailed(_logger, ex, instanceId));

    /// <summary>
    /// One small write (the statements <paramref name="prepare"/> adds, sent in one round trip) in its own durable
    /// transaction: the assignments and the decision memory. False when the store failed, after
    /// <paramref name="failed"/> logged it.
    /// </summary>
    private bool WriteDurably(Action<NpgsqlBatch> prepare, Action<Exception> failed)
    {
        try
        {
            using var connection = _dataSource.OpenConnection();
            using var transaction = connection.BeginTransaction();
            using var batch = new NpgsqlBatch(connection, transaction);
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SET LOCAL synchronous_commit = on"));
            Fence(batch);
            prepare(batch);
            batch.ExecuteNonQuery();
            transaction.Commit();
            return true;
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            failed(ex);
            return false;
        }
    }

    /// <summary>The fence of <see cref="FenceTerm"/> (when set), last in a commit's transaction: held until it commits, so no election comes between.</summary>
    private async Task FenceAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection, transaction);
        Fence(batch);
        if (batch.BatchCommands.Count > 0)
        {
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static async Task LockInstanceAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string instanceId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SET LOCAL synchronous_commit = on; SELECT pg_advisory_xact_lock(@class, hashtext(@instance))",
            connection,
            transaction);
        command.Parameters.AddWithValue("class", PostgresSchema.InstanceLockClass);
        command.Parameters.AddWithValue("instance", instanceId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<StoredSnapshot?> OpenSnapshotAsync(string instanceId, long? version, CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        NpgsqlTransaction? transaction = null;
        try
        {
            // One snapshot of the database for the row and every chunk read after it, until the stream is disposed.
            transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
            long id;
            SnapshotInfo info;
            await using (var select = new NpgsqlCommand(
                version is null
                    ? $"SELECT {InfoColumns} FROM snapshots WHERE instance_id = @instance ORDER BY version DESC LIMIT 1"
                    : $"SELECT {InfoColumns} FROM snapshots WHERE instance_id = @instance AND version = @version",
                connection,
                transaction))
            {
                select.Parameters.AddWithValue("instance", instanceId);
                if (version is not null)
                {
                    select.Parameters.AddWithValue("version", version.Value);
                }

                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                if (!await reader.ReadAsync(cancellationToken))
                {
                    await reader.DisposeAsync();
                    await transaction.DisposeAsync();
                    await connection.DisposeAsync();
                    return null;
                }

                id = reader.GetInt64(0);
                info = ReadInfo(reader);
            }

            return new StoredSnapshot(info, new PostgresSnapshotStream(connection, transaction, id, info.SizeBytes));
        }
        catch
        {
            if (transaction is not null)
            {
                await transaction.DisposeAsync();
            }

            await connection.DisposeAsync();
            throw;
        }
    }

    private static SnapshotInfo ReadInfo(NpgsqlDataReader reader) => new(
        InstanceId: reader.GetString(1),
        FunctionName: reader.GetString(2),
        Version: reader.GetInt64(3),
        SizeBytes: reader.GetInt64(4),
        Sha256Hex: reader.GetString(5),
        SourceNodeId: reader.GetString(6),
        TakenAt: reader.GetFieldValue<DateTimeOffset>(7),
        CommittedAt: reader.GetFieldValue<DateTimeOffset>(8));

    private static async Task<(long? Latest, string? Kept)> LatestAndKeptAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string instanceId, long version, CancellationToken cancellationToken)
    {
        await using var select = new NpgsqlCommand(
            """
            SELECT (SELECT max(version) FROM snapshots WHERE instance_id = @instance),
                   (SELECT sha256 FROM snapshots WHERE instance_id = @instance AND version = @version)
            """,
            connection,
            transaction);
        select.Parameters.AddWithValue("instance", instanceId);
        select.Parameters.AddWithValue("version", version);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.IsDBNull(0) ? null : reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetString(1));
    }

    private static async Task<long> InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, SnapshotInfo info, CancellationToken cancellationToken)
    {
        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO snapshots (instance_id, version, function_name, size_bytes, sha256, source_node_id, taken_at, committed_at)
            VALUES (@instance, @version, @function, @size, @sha256, @source, @takenAt, @committedAt)
            RETURNING id
            """,
            connection,
            transaction);
        insert.Parameters.AddWithValue("instance", info.InstanceId);
        insert.Parameters.AddWithValue("version", info.Version);
        insert.Parameters.AddWithValue("function", info.FunctionName);
        insert.Parameters.AddWithValue("size", info.SizeBytes);
        insert.Parameters.AddWithValue("sha256", info.Sha256Hex.ToLowerInvariant());
        insert.Parameters.AddWithValue("source", info.SourceNodeId);
        insert.Parameters.AddWithValue("takenAt", info.TakenAt.ToUniversalTime());
        insert.Parameters.AddWithValue("committedAt", info.CommittedAt.ToUniversalTime());
        return (long)(await insert.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Streams the content into chunk rows of <see cref="ChunkBytes"/>, checked as it goes; returns why it does not match, or null.</summary>
    private static async Task<string?> WriteContentAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long id, SnapshotInfo info, Stream content, CancellationToken cancellationToken)
    {
        await using var insert = new NpgsqlCommand("INSERT INTO snapshot_chunks (snapshot_id, seq, data) VALUES (@id, @seq, @data)", connection, transaction);
        insert.Parameters.Add(new NpgsqlParameter<long>("id", id));
        var seq = new NpgsqlParameter<int>("seq", 0);
        insert.Parameters.Add(seq);
        var data = new NpgsqlParameter("data", NpgsqlDbType.Bytea);
        insert.Parameters.Add(data);
        return await SnapshotContent.CopyAsync(info, content, ChunkBytes, async (chunk, token) =>
        {
            data.Value = chunk;
            await insert.ExecuteNonQueryAsync(token);
            seq.TypedValue++;
        }, cancellationToken);
    }

    /// <summary>Removes all but the newest kept versions of the instance (their chunks go with them); returns how many went.</summary>
    private async Task<int> PruneAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string instanceId, CancellationToken cancellationToken)
    {
        await using var delete = new NpgsqlCommand(
            "DELETE FROM snapshots WHERE id IN (SELECT id FROM snapshots WHERE instance_id = @instance ORDER BY version DESC OFFSET @keep)",
            connection,
            transaction);
        delete.Parameters.AddWithValue("instance", instanceId);
        delete.Parameters.AddWithValue("keep", _keepVersions);
        return await delete.ExecuteNonQueryAsync(cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1350, EventName = "PostgresStateStoreOpened", Level = LogLevel.Information,
            Message = "State store '{Database}' is open (schema version {SchemaVersion}); it keeps the newest {KeepVersions} snapshots of each instance.")]
        public static partial void Opened(ILogger logger, string database, int schemaVersion, int keepVersions);

        [LoggerMessage(EventId = 1351, EventName = "PostgresSnapshotCommitted", Level = LogLevel.Debug,
            Message = "Committed version {Version} of instance '{InstanceId}' ({SizeBytes} bytes from node '{SourceNodeId}'); pruned {Pruned} older versions.")]
        public static partial void Committed(ILogger logger, string instanceId, long version, long sizeBytes, string sourceNodeId, int pruned);

        [LoggerMessage(EventId = 1352, EventName = "PostgresSnapshotAlreadyCommitted", Level = LogLevel.Debug,
            Message = "Version {Version} of instance '{InstanceId}' was already committed with the same checksum; nothing changed.")]
        public static partial void AlreadyCommitted(ILogger logger, string instanceId, long version);

        [LoggerMessage(EventId = 1353, EventName = "PostgresSnapshotStale", Level = LogLevel.Warning,
            Message = "Refused version {Version} of instance '{InstanceId}' as stale: {Reason}.")]
        public static partial void Stale(ILogger logger, string instanceId, long version, string reason);

        [LoggerMessage(EventId = 1354, EventName = "PostgresSnapshotInvalid", Level = LogLevel.Warning,
            Message = "Refused version {Version} of instance '{InstanceId}': {Reason}.")]
        public static partial void Invalid(ILogger logger, string instanceId, long version, string reason);

        [LoggerMessage(EventId = 1355, EventName = "PostgresInstanceStateDeleted", Level = LogLevel.Information,
            Message = "Deleted the {Count} kept snapshots of instance '{InstanceId}'.")]
        public static partial void InstanceDeleted(ILogger logger, string instanceId, int count);

        [LoggerMessage(EventId = 1356, EventName = "PostgresStateStoreMigrated", Level = LogLevel.Information,
            Message = "State store '{Database}' migrated from schema version {From} to {To}.")]
        public static partial void Migrated(ILogger logger, string database, int from, int to);

        [LoggerMessage(EventId = 1357, EventName = "PostgresAssignmentsLoaded", Level = LogLevel.Information,
            Message = "Loaded {Count} instance assignments (with their fencing epochs) from the state store.")]
        public static partial void AssignmentsLoaded(ILogger logger, int count);

        [LoggerMessage(EventId = 1358, EventName = "PostgresAssignmentWriteFailed", Level = LogLevel.Error,
            Message = "Could not write the assignment or pending stop of instance '{InstanceId}' to the state store; it is kept in memory only, and would not survive a restart.")]
        public static partial void AssignmentWriteFailed(ILogger logger, Exception exception, string instanceId);

        [LoggerMessage(EventId = 1359, EventName = "PostgresPendingStopsLoaded", Level = LogLevel.Information,
            Message = "Loaded {Count} pending stops (instances stopped for good that their nodes have not acknowledged) from the state store.")]
        public static partial void StopsLoaded(ILogger logger, int count);
    }
}
