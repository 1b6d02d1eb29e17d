using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Drover.Aggregator.State;

/// <summary>
/// The persistent state storage in SQLite: <c>&lt;dataDirectory&gt;/state.db</c>, nothing to start.
/// One row per kept snapshot in <c>snapshots</c>, its archive in <c>snapshot_content</c> under the
/// same id (so listing versions never reads through the archives' overflow pages). WAL mode with
/// <c>synchronous=FULL</c>: the WAL is synced at every commit, so a commit acknowledged to an agent
/// survives a power cut (NORMAL would only survive a crash of the process). The instance
/// assignments with their fencing epochs are kept in <c>assignments</c>, one row per instance
/// (<see cref="IAssignmentStore"/>), written with the same care; so is what the decision passes
/// remember between passes (<see cref="IDecisionMemoryStore"/>, in <c>SqliteStateStore.DecisionMemory.cs</c>).
/// </summary>
/// <remarks>
/// Concurrency: a connection per operation (pooled by Microsoft.Data.Sqlite), and one writer at a
/// time through <see cref="_writer"/>. SQLite admits one writer per database anyway; queuing the
/// commits of many agent streams here waits asynchronously and in order, where SQLite's busy handler
/// would block a thread and retry by sleeping, which starves a commit that meets a long blob write.
/// Readers run beside the writer: in WAL mode each read sees the database as of its start.
/// The writer reads the content while it holds the write lock, so content should be local (the
/// assembler hands over its temporary file), never a network stream.
/// The busy timeout remains for other processes that open the file (the sqlite3 shell, a backup).
/// </remarks>
internal sealed partial class SqliteStateStore : IAggregatorStore
{
    public const string FileName = "state.db";
    public const int DefaultKeepVersions = 3;

    /// <summary>The schema this code reads and writes; kept in the <c>schema_version</c> table.</summary>
    /// <remarks>
    /// 1: snapshots; 2: and assignments (migrated from 1 by adding the table); 3: and the decision memory
    /// (migrated from 2 by adding its tables, empty: the decisions start from zero once, as before).
    /// </remarks>
    public const int SchemaVersion = 4;

    private const int BusyTimeoutMs = 10_000;

    // Without a limit the WAL keeps the size of its largest transaction (a whole archive) after a
    // checkpoint; with it, the file is truncated back to this size.
    private const long WalSizeLimitBytes = 64L * 1024 * 1024;

    private const int CopyBufferBytes = 128 * 1024;

    private const string AssignmentsTable = """
        CREATE TABLE assignments (
            instance_id TEXT PRIMARY KEY,
            function_name TEXT NOT NULL,
            node_id TEXT NOT NULL,
            epoch INTEGER NOT NULL,
            home_cluster TEXT
        );
        """;

    private const string PendingStopsTable = """
        CREATE TABLE pending_stops (
            instance_id TEXT PRIMARY KEY,
            function_name TEXT NOT NULL,
            node_id TEXT NOT NULL,
            delete_state INTEGER NOT NULL,
            decided_at TEXT NOT NULL
        );
        """;

    private const string InfoColumns =
        "id, instance_id, function_name, version, size_bytes, sha256, source_node_id, taken_at, committed_at";

    private readonly string _connectionString;
    private readonly int _keepVersions;
    private readonly ILogger<SqliteStateStore> _logger;
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly FileDefinitionStore _definitions;

    /// <summary>Opens (creating when missing) <c>&lt;dataDirectory&gt;/state.db</c> and its schema.</summary>
    /// <param name="dataDirectory">The aggregator's data directory; created when missing.</param>
    /// <param name="logger">Where commits, refusals and pruning are logged.</param>
    /// <param name="keepVersions">How many of the newest versions of each instance are kept (at least 1).</param>
    /// <exception cref="SqliteException">The file cannot be opened or is not a database.</exception>
    /// <exception cref="InvalidOperationException">The file was written with a schema this code does not know.</exception>
    public SqliteStateStore(string dataDirectory, ILogger<SqliteStateStore> logger, int keepVersions = DefaultKeepVersions)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        ArgumentOutOfRangeException.ThrowIfLessThan(keepVersions, 1);
        _keepVersions = keepVersions;
        _logger = logger;

        Directory.CreateDirectory(dataDirectory);
        _definitions = new FileDefinitionStore(dataDirectory);
        DatabasePath = Path.GetFullPath(Path.Combine(dataDirectory, FileName));
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = BusyTimeoutMs / 1000,
        }.ToString();

        CreateSchema();
        Log.Opened(_logger, DatabasePath, SchemaVersion, _keepVersions);
    }

    /// <summary>The full path of <c>state.db</c>.</summary>
    public string DatabasePath { get; }

    public string Description => DatabasePath;

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
        await using var connection = await OpenAsync(cancellationToken);
        await using var select = connection.CreateCommand();
        select.CommandText = $"SELECT {InfoColumns} FROM snapshots WHERE instance_id = $instance ORDER BY version DESC";
        select.Parameters.AddWithValue("$instance", instanceId);
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
        await using var connection = await OpenAsync(cancellationToken);
        await using var select = connection.CreateCommand();

        // SQLite's bare-column rule: with max(), the other columns come from the row holding the maximum.
        select.CommandText = """
            SELECT instance_id, function_name, max(version), count(*), committed_at
            FROM snapshots GROUP BY instance_id ORDER BY instance_id
            """;
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var list = new List<StoredInstance>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new StoredInstance(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt32(3), reader.GetDateTimeOffset(4)));
        }

        return list;
    }

    public async Task<CommitResult> CommitAsync(SnapshotInfo info, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentException.ThrowIfNullOrEmpty(info.InstanceId);
        ArgumentOutOfRangeException.ThrowIfNegative(info.SizeBytes);

        await _writer.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);

            // BEGIN IMMEDIATE: the write lock is held from here, so the checks below and the insert
            // see the same latest version. Disposed without Commit() (a refusal, an exception, a
            // cancellation), the transaction rolls back and leaves no trace.
            await using var transaction = connection.BeginTransaction(deferred: false);

            var latest = await LatestVersionAsync(connection, transaction, info.InstanceId, cancellationToken);
            var kept = await KeptChecksumAsync(connection, transaction, info.InstanceId, info.Version, cancellationToken);
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
            var invalid = await WriteContentAsync(connection, id, info, content, cancellationToken);
            if (invalid is not null)
            {
                Log.Invalid(_logger, info.InstanceId, info.Version, invalid);
                return CommitResult.Invalid(latest ?? 0, invalid);
            }

            var pruned = await PruneAsync(connection, transaction, info.InstanceId, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            Log.Committed(_logger, info.InstanceId, info.Version, info.SizeBytes, info.SourceNodeId, pruned);
            return CommitResult.Committed(info.Version);
        }
        finally
        {
            _writer.Release();
        }
    }

    public async Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        await _writer.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var transaction = connection.BeginTransaction(deferred: false);
            await using var delete = connection.CreateCommand();
            delete.Transaction = transaction;
            delete.CommandText = """
                DELETE FROM snapshot_content WHERE id IN (SELECT id FROM snapshots WHERE instance_id = $instance);
                DELETE FROM snapshots WHERE instance_id = $instance;
                """;
            delete.Parameters.AddWithValue("$instance", instanceId);
            var changes = await delete.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            if (changes > 0)
            {
                Log.InstanceDeleted(_logger, instanceId, changes / 2);
            }
        }
        finally
        {
            _writer.Release();
        }
    }

    public IReadOnlyList<StoredAssignment> LoadAssignments()
    {
        using var connection = Open();
        using var select = connection.CreateCommand();
        select.CommandText = "SELECT instance_id, function_name, node_id, epoch, home_cluster FROM assignments ORDER BY instance_id";
        using var reader = select.ExecuteReader();
        var list = new List<StoredAssignment>();
        while (reader.Read())
        {
            list.Add(new StoredAssignment(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        }

        Log.AssignmentsLoaded(_logger, list.Count);
        return list;
    }

    public bool SaveAssignment(StoredAssignment assignment)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        ArgumentException.ThrowIfNullOrEmpty(assignment.InstanceId);

        // The epoch guard keeps epochs moving forward even should two writes cross.
        return WriteAssignment(assignment.InstanceId, command =>
        {
            command.CommandText = """
                INSERT INTO assignments (instance_id, function_name, node_id, epoch, home_cluster)
                VALUES ($instance, $function, $node, $epoch, $home)
                ON CONFLICT (instance_id) DO UPDATE SET
                    function_name = excluded.function_name, node_id = excluded.node_id,
                    epoch = excluded.epoch, home_cluster = excluded.home_cluster
                WHERE excluded.epoch >= assignments.epoch;
                DELETE FROM pending_stops WHERE instance_id = $instance;
                """;
            command.Parameters.AddWithValue("$instance", assignment.InstanceId);
            command.Parameters.AddWithValue("$function", assignment.Function);
            command.Parameters.AddWithValue("$node", assignment.NodeId);
            command.Parameters.AddWithValue("$epoch", assignment.Epoch);
            command.Parameters.AddWithValue("$home", (object?)assignment.HomeCluster ?? DBNull.Value);
        });
    }

    public IReadOnlyList<StoredStop> LoadStops()
    {
        using var connection = Open();
        using var select = connection.CreateCommand();
        select.CommandText = "SELECT instance_id, function_name, node_id, delete_state, decided_at FROM pending_stops ORDER BY instance_id";
        using var reader = select.ExecuteReader();
        var list = new List<StoredStop>();
        while (reader.Read())
        {
            list.Add(new StoredStop(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3) != 0, reader.GetDateTimeOffset(4)));
        }

        Log.StopsLoaded(_logger, list.Count);
        return list;
    }

    public bool SaveStop(StoredStop stop)
    {
        ArgumentNullException.ThrowIfNull(stop);
        ArgumentException.ThrowIfNullOrEmpty(stop.InstanceId);
        return WriteAssignment(stop.InstanceId, command =>
        {
            command.CommandText = """
                DELETE FROM assignments WHERE instance_id = $instance;
                INSERT INTO pending_stops (instance_id, function_name, node_id, delete_state, decided_at)
                VALUES ($instance, $function, $node, $delete, $at)
                ON CONFLICT (instance_id) DO UPDATE SET
                    function_name = excluded.function_name, node_id = excluded.node_id,
                    delete_state = excluded.delete_state, decided_at = excluded.decided_at;
                """;
            command.Parameters.AddWithValue("$instance", stop.InstanceId);
            command.Parameters.AddWithValue("$function", stop.Function);
            command.Parameters.AddWithValue("$node", stop.NodeId);
            command.Parameters.AddWithValue("$delete", stop.DeleteState ? 1 : 0);
            command.Parameters.AddWithValue("$at", stop.DecidedAt);
        });
    }

    public bool DeleteStop(string instanceId)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        return WriteAssignment(instanceId, command =>
        {
            command.CommandText = "DELETE FROM pending_stops WHERE instance_id = $instance";
            command.Parameters.AddWithValue("$instance", instanceId);
        });
    }

    /// <inheritdoc cref="FileDefinitionStore"/>
    public string? LoadDefinitions(string kind) => _definitions.LoadDefinitions(kind);

    /// <inheritdoc cref="FileDefinitionStore"/>
    public void SaveDefinitions(string kind, string json) => _definitions.SaveDefinitions(kind, json);

    public string DescribeDefinitions(string kind) => _definitions.DescribeDefinitions(kind);

    public void Dispose()
    {
        // Closes the pooled connections, so the file is really closed (and its WAL checkpointed)
        // when the store is; a stream still open closes its own connection when disposed.
        using (var connection = new SqliteConnection(_connectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        _writer.Dispose();
    }

    /// <summary>One write of the assignments or pending stops, in its own durable transaction; false (logged) when the store failed.</summary>
    private bool WriteAssignment(string instanceId, Action<SqliteCommand> prepare)
        => WriteDurably(
            command =>
            {
                prepare(command);
                command.ExecuteNonQuery();
            },
            ex => Log.AssignmentWriteFailed(_logger, ex, instanceId));

    /// <summary>
    /// One small write in its own durable transaction (the write lock held from its start,
    /// synchronous=FULL): the assignments and the decision memory; false when the store failed, after
    /// <paramref name="failed"/> logged it.
    /// </summary>
    private bool WriteDurably(Action<SqliteCommand> write, Action<SqliteException> failed)
    {
        _writer.Wait();
        try
        {
            using var connection = Open();
            using var transaction = connection.BeginTransaction(deferred: false);
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            write(command);
            transaction.Commit();
            return true;
        }
        catch (SqliteException ex)
        {
            failed(ex);
            return false;
        }
        finally
        {
            _writer.Release();
        }
    }

    private void CreateSchema()
    {
        using var connection = Open();
        using (var wal = connection.CreateCommand())
        {
            // Persistent in the file: set once, kept by every later connection.
            wal.CommandText = "PRAGMA journal_mode = WAL;";
            var mode = Convert.ToString(wal.ExecuteScalar(), CultureInfo.InvariantCulture);
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"'{DatabasePath}' could not be switched to WAL mode (journal_mode is '{mode}').");
            }
        }

        // IMMEDIATE, so two processes opening a new file do not both create the schema.
        using var transaction = connection.BeginTransaction(deferred: false);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
            SELECT max(version) FROM schema_version;
            """;
        var found = command.ExecuteScalar();
        if (found is null or DBNull)
        {
            command.CommandText = $"""
                CREATE TABLE snapshots (
                    id INTEGER PRIMARY KEY,
                    instance_id TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    function_name TEXT NOT NULL,
                    size_bytes INTEGER NOT NULL,
                    sha256 TEXT NOT NULL,
                    source_node_id TEXT NOT NULL,
                    taken_at TEXT NOT NULL,
                    committed_at TEXT NOT NULL,
                    UNIQUE (instance_id, version)
                );
                CREATE TABLE snapshot_content (
                    id INTEGER PRIMARY KEY,
                    content BLOB NOT NULL
                );
                {AssignmentsTable}
                {DecisionMemoryTables}
                {PendingStopsTable}
                INSERT INTO schema_version (version) VALUES ({SchemaVersion});
                """;
            command.ExecuteNonQuery();
        }
        else
        {
            var version = Convert.ToInt64(found, CultureInfo.InvariantCulture);
            if (version > SchemaVersion)
            {
                throw new InvalidOperationException(
                    $"'{DatabasePath}' has state schema version {version}; this aggregator reads schema version {SchemaVersion}. Was it written by a newer aggregator?");
            }

            // Older schema versions migrate here, step by step, in this transaction.
            if (version < 2)
            {
                command.CommandText = $"""
                    {AssignmentsTable}
                    UPDATE schema_version SET version = 2;
                    """;
                command.ExecuteNonQuery();
                Log.Migrated(_logger, DatabasePath, version, 2);
            }

            if (version < 3)
            {
                command.CommandText = $"""
                    {DecisionMemoryTables}
                    UPDATE schema_version SET version = 3;
                    """;
                command.ExecuteNonQuery();
                Log.Migrated(_logger, DatabasePath, Math.Max(version, 2), 3);
            }

            if (version < 4)
            {
                command.CommandText = $"""
                    {PendingStopsTable}
                    UPDATE schema_version SET version = 4;
                    """;
                command.ExecuteNonQuery();
                Log.Migrated(_logger, DatabasePath, Math.Max(version, 3), 4);
            }
        }

        transaction.Commit();
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            ApplyPragmas(connection);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            ApplyPragmas(connection);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    // These settings belong to the connection, not the file: every connection sets them (a pooled
    // one again, which costs next to nothing).
    private static void ApplyPragmas(SqliteConnection connection)
    {
        using var pragma = connection.CreateCommand();
        pragma.CommandText = string.Create(
            CultureInfo.InvariantCulture,
            $"PRAGMA busy_timeout = {BusyTimeoutMs}; PRAGMA synchronous = FULL; PRAGMA journal_size_limit = {WalSizeLimitBytes};");
        pragma.ExecuteNonQuery();
    }

    private async Task<StoredSnapshot?> OpenSnapshotAsync(string instanceId, long? version, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken);
        SqliteTransaction? transaction = null;
        SqliteBlob? blob = null;
        try
        {
            // Deferred: the read snapshot is taken at the first SELECT and held until the stream
            // is disposed, so the row and the blob read below are of one and the same version.
            transaction = connection.BeginTransaction(deferred: true);
            long id;
            SnapshotInfo info;
            await using (var select = connection.CreateCommand())
            {
                select.Transaction = transaction;
                select.CommandText = version is null
                    ? $"SELECT {InfoColumns} FROM snapshots WHERE instance_id = $instance ORDER BY version DESC LIMIT 1"
                    : $"SELECT {InfoColumns} FROM snapshots WHERE instance_id = $instance AND version = $version";
                select.Parameters.AddWithValue("$instance", instanceId);
                if (version is not null)
                {
                    select.Parameters.AddWithValue("$version", version.Value);
                }

                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                if (!await reader.ReadAsync(cancellationToken))
                {
                    await transaction.DisposeAsync();
                    await connection.DisposeAsync();
                    return null;
                }

                id = reader.GetInt64(0);
                info = ReadInfo(reader);
            }

            blob = new SqliteBlob(connection, "snapshot_content", "content", id, readOnly: true);
            var snapshot = new StoredSnapshot(info, new SqliteSnapshotStream(connection, transaction, blob));
            blob = null;
            return snapshot;
        }
        catch
        {
            blob?.Dispose();
            transaction?.Dispose();
            await connection.DisposeAsync();
            throw;
        }
    }

    private static SnapshotInfo ReadInfo(SqliteDataReader reader) => new(
        InstanceId: reader.GetString(1),
        FunctionName: reader.GetString(2),
        Version: reader.GetInt64(3),
        SizeBytes: reader.GetInt64(4),
        Sha256Hex: reader.GetString(5),
        SourceNodeId: reader.GetString(6),
        TakenAt: reader.GetDateTimeOffset(7),
        CommittedAt: reader.GetDateTimeOffset(8));

    private static async Task<long?> LatestVersionAsync(SqliteConnection connection, SqliteTransaction transaction, string instanceId, CancellationToken cancellationToken)
    {
        await using var select = connection.CreateCommand();
        select.Transaction = transaction;
        select.CommandText = "SELECT max(version) FROM snapshots WHERE instance_id = $instance";
        select.Parameters.AddWithValue("$instance", instanceId);
        var found = await select.ExecuteScalarAsync(cancellationToken);
        return found is null or DBNull ? null : Convert.ToInt64(found, CultureInfo.InvariantCulture);
    }

    private static async Task<string?> KeptChecksumAsync(SqliteConnection connection, SqliteTransaction transaction, string instanceId, long version, CancellationToken cancellationToken)
    {
        await using var select = connection.CreateCommand();
        select.Transaction = transaction;
        select.CommandText = "SELECT sha256 FROM snapshots WHERE instance_id = $instance AND version = $version";
        select.Parameters.AddWithValue("$instance", instanceId);
        select.Parameters.AddWithValue("$version", version);
        return await select.ExecuteScalarAsync(cancellationToken) as string;
    }

    private static async Task<long> InsertAsync(SqliteConnection connection, SqliteTransaction transaction, SnapshotInfo info, CancellationToken cancellationToken)
    {
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;

        // zeroblob reserves the archive's pages without building it in memory; SqliteBlob then
        // streams the bytes into them.
        insert.CommandText = """
            INSERT INTO snapshots (instance_id, version, function_name, size_bytes, sha256, source_node_id, taken_at, committed_at)
            VALUES ($instance, $version, $function, $size, $sha256, $source, $takenAt, $committedAt)
            RETURNING id;
            """;
        insert.Parameters.AddWithValue("$instance", info.InstanceId);
        insert.Parameters.AddWithValue("$version", info.Version);
        insert.Parameters.AddWithValue("$function", info.FunctionName);
        insert.Parameters.AddWithValue("$size", info.SizeBytes);
        insert.Parameters.AddWithValue("$sha256", info.Sha256Hex.ToLowerInvariant());
        insert.Parameters.AddWithValue("$source", info.SourceNodeId);
        insert.Parameters.AddWithValue("$takenAt", info.TakenAt);
        insert.Parameters.AddWithValue("$committedAt", info.CommittedAt);
        var id = Convert.ToInt64(await insert.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);

        insert.Parameters.Clear();
        insert.CommandText = "INSERT INTO snapshot_content (id, content) VALUES ($id, zeroblob($size))";
        insert.Parameters.AddWithValue("$id", id);
        insert.Parameters.AddWithValue("$size", info.SizeBytes);
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return id;
    }

    /// <summary>Streams the content into the reserved blob, checked as it goes; returns why it does not match, or null.</summary>
    private static async Task<string?> WriteContentAsync(SqliteConnection connection, long id, SnapshotInfo info, Stream content, CancellationToken cancellationToken)
    {
        // An empty archive has no bytes to write, and no blob handle is needed for none.
        using var blob = info.SizeBytes == 0 ? null : new SqliteBlob(connection, "snapshot_content", "content", id);
        return await SnapshotContent.CopyAsync(info, content, CopyBufferBytes, (piece, _) =>
        {
            blob!.Write(piece.Array!, piece.Offset, piece.Count);
            return ValueTask.CompletedTask;
        }, cancellationToken);
    }

    /// <summary>Removes all but the newest kept versions of the instance; returns how many went.</summary>
    private async Task<int> PruneAsync(SqliteConnection connection, SqliteTransaction transaction, string instanceId, CancellationToken cancellationToken)
    {
        const string Surplus = "SELECT id FROM snapshots WHERE instance_id = $instance ORDER BY version DESC LIMIT -1 OFFSET $keep";
        await using var delete = connection.CreateCommand();
        delete.Transaction = transaction;
        delete.Parameters.AddWithValue("$instance", instanceId);
        delete.Parameters.AddWithValue("$keep", _keepVersions);
        delete.CommandText = $"DELETE FROM snapshot_content WHERE id IN ({Surplus})";
        await delete.ExecuteNonQueryAsync(cancellationToken);
        delete.CommandText = $"DELETE FROM snapshots WHERE id IN ({Surplus})";
        return await delete.ExecuteNonQueryAsync(cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1301, EventName = "StateStoreOpened", Level = LogLevel.Information,
            Message = "State store '{Path}' is open (schema version {SchemaVersion}); it keeps the newest {KeepVersions} snapshots of each instance.")]
        public static partial void Opened(ILogger logger, string path, int schemaVersion, int keepVersions);

        [LoggerMessage(EventId = 1302, EventName = "SnapshotCommitted", Level = LogLevel.Debug,
            Message = "Committed version {Version} of instance '{InstanceId}' ({SizeBytes} bytes from node '{SourceNodeId}'); pruned {Pruned} older versions.")]
        public static partial void Committed(ILogger logger, string instanceId, long version, long sizeBytes, string sourceNodeId, int pruned);

        [LoggerMessage(EventId = 1303, EventName = "SnapshotAlreadyCommitted", Level = LogLevel.Debug,
            Message = "Version {Version} of instance '{InstanceId}' was already committed with the same checksum; nothing changed.")]
        public static partial void AlreadyCommitted(ILogger logger, string instanceId, long version);

        [LoggerMessage(EventId = 1304, EventName = "SnapshotStale", Level = LogLevel.Warning,
            Message = "Refused version {Version} of instance '{InstanceId}' as stale: {Reason}.")]
        public static partial void Stale(ILogger logger, string instanceId, long version, string reason);

        [LoggerMessage(EventId = 1305, EventName = "SnapshotInvalid", Level = LogLevel.Warning,
            Message = "Refused version {Version} of instance '{InstanceId}': {Reason}.")]
        public static partial void Invalid(ILogger logger, string instanceId, long version, string reason);

        [LoggerMessage(EventId = 1306, EventName = "InstanceStateDeleted", Level = LogLevel.Information,
            Message = "Deleted the {Count} kept snapshots of instance '{InstanceId}'.")]
        public static partial void InstanceDeleted(ILogger logger, string instanceId, int count);

        [LoggerMessage(EventId = 1309, EventName = "StateStoreMigrated", Level = LogLevel.Information,
            Message = "State store '{Path}' migrated from schema version {From} to {To}.")]
        public static partial void Migrated(ILogger logger, string path, long from, int to);

        [LoggerMessage(EventId = 1310, EventName = "AssignmentsLoaded", Level = LogLevel.Information,
            Message = "Loaded {Count} instance assignments (with their fencing epochs) from the state store.")]
        public static partial void AssignmentsLoaded(ILogger logger, int count);

        [LoggerMessage(EventId = 1311, EventName = "AssignmentWriteFailed", Level = LogLevel.Error,
            Message = "Could not write the assignment or pending stop of instance '{InstanceId}' to the state store; it is kept in memory only, and would not survive a restart.")]
        public static partial void AssignmentWriteFailed(ILogger logger, Exception exception, string instanceId);

        [LoggerMessage(EventId = 1312, EventName = "PendingStopsLoaded", Level = LogLevel.Information,
            Message = "Loaded {Count} pending stops (instances stopped for good that their nodes have not acknowledged) from the state store.")]
        public static partial void StopsLoaded(ILogger logger, int count);
    }
}
