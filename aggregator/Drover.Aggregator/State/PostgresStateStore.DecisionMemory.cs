using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Drover.Aggregator.Clusters;
using Drover.Decisions.Health;
using Drover.Decisions.Scaling;
using Npgsql;

namespace Drover.Aggregator.State;

/// <summary>
/// The decision memory (<see cref="IDecisionMemoryStore"/>) in PostgreSQL, in the tables and JSON shapes SQLite keeps
/// it in (<see cref="DecisionMemoryCodec"/>): <c>decision_memory</c> (one JSON value per key, replaced whole),
/// <c>cluster_history</c> (appended, trimmed per cluster in the same transaction) and <c>event_sequences</c> (marks
/// that only move up). The values are <c>text</c>, not <c>jsonb</c>: they are read back whole by this code only, and a
/// value that does not parse is left out of the load (logged), as with SQLite, rather than refused by the database.
/// </summary>
internal sealed partial class PostgresStateStore
{
    public IReadOnlyDictionary<string, DateTimeOffset> LoadNodePenalties()
    {
        var penalties = DecisionMemoryCodec.PenaltiesFromStored(ReadMemory(DecisionMemoryCodec.PenaltiesKey, DecisionMemoryJsonContext.Default.DictionaryStringDateTimeOffset));
        Log.MemoryLoaded(_logger, penalties.Count, "node penalties");
        return penalties;
    }

    public bool SaveNodePenalties(IReadOnlyDictionary<string, DateTimeOffset> endsAt)
    {
        ArgumentNullException.ThrowIfNull(endsAt);
        return WriteMemory(DecisionMemoryCodec.PenaltiesKey, DecisionMemoryCodec.PenaltiesToStored(endsAt), DecisionMemoryJsonContext.Default.DictionaryStringDateTimeOffset, "the node penalties");
    }

    public IReadOnlyDictionary<string, ScalingPrevious> LoadScalingWindows()
    {
        var windows = DecisionMemoryCodec.WindowsFromStored(ReadMemory(DecisionMemoryCodec.ScalingWindowsKey, DecisionMemoryJsonContext.Default.DictionaryStringStoredScalingWindow));
        Log.MemoryLoaded(_logger, windows.Count, "scale-down windows");
        return windows;
    }

    public bool SaveScalingWindows(IReadOnlyDictionary<string, ScalingPrevious> windows)
    {
        ArgumentNullException.ThrowIfNull(windows);
        return WriteMemory(DecisionMemoryCodec.ScalingWindowsKey, DecisionMemoryCodec.WindowsToStored(windows), DecisionMemoryJsonContext.Default.DictionaryStringStoredScalingWindow, "the scale-down windows");
    }

    public IReadOnlyDictionary<string, PreviousClusterHealth> LoadClusterHealth()
    {
        var previous = DecisionMemoryCodec.HealthFromStored(
            ReadMemory(DecisionMemoryCodec.ClusterHealthKey, DecisionMemoryJsonContext.Default.DictionaryStringStoredClusterHealth),
            (what, reason) => Log.MemoryUnreadable(_logger, null, what, reason));
        Log.MemoryLoaded(_logger, previous.Count, "cluster health states");
        return previous;
    }

    public bool SaveClusterHealth(IReadOnlyDictionary<string, PreviousClusterHealth> previous)
    {
        ArgumentNullException.ThrowIfNull(previous);
        return WriteMemory(DecisionMemoryCodec.ClusterHealthKey, DecisionMemoryCodec.HealthToStored(previous), DecisionMemoryJsonContext.Default.DictionaryStringStoredClusterHealth, "the cluster health states");
    }

    public IReadOnlyDictionary<string, IReadOnlyList<ClusterHistoryEntry>> LoadClusterHistory(int keepPerCluster)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keepPerCluster, 1);
        using var select = _dataSource.CreateCommand("""
            SELECT id, cluster, entry FROM (
                SELECT id, cluster, entry, row_number() OVER (PARTITION BY cluster ORDER BY id DESC) AS newest
                FROM cluster_history) AS ranked
            WHERE newest <= $1 ORDER BY id
            """);
        select.Parameters.Add(new NpgsqlParameter<int> { TypedValue = keepPerCluster });
        using var reader = select.ExecuteReader();
        var history = new Dictionary<string, List<ClusterHistoryEntry>>(StringComparer.Ordinal);
        var count = 0;
        while (reader.Read())
        {
            var cluster = reader.GetString(1);
            if (Deserialize(reader.GetString(2), DecisionMemoryJsonContext.Default.ClusterHistoryEntry, $"cluster_history row {reader.GetInt64(0)}") is not { } entry)
            {
                continue;
            }

            if (!history.TryGetValue(cluster, out var entries))
            {
                history[cluster] = entries = [];
            }

            entries.Add(entry);
            count++;
        }

        Log.MemoryLoaded(_logger, count, "cluster history entries");
        return history.ToDictionary(h => h.Key, h => (IReadOnlyList<ClusterHistoryEntry>)h.Value, StringComparer.Ordinal);
    }

    public bool AppendClusterHistory(IReadOnlyList<(string Cluster, ClusterHistoryEntry Entry)> entries, int keepPerCluster)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentOutOfRangeException.ThrowIfLessThan(keepPerCluster, 1);
        if (entries.Count == 0)
        {
            return true;
        }

        return WriteMemory("the cluster history", batch =>
        {
            foreach (var (cluster, entry) in entries)
            {
                batch.BatchCommands.Add(Command(
                    "INSERT INTO cluster_history (cluster, entry) VALUES ($1, $2)",
                    cluster,
                    JsonSerializer.Serialize(entry, DecisionMemoryJsonContext.Default.ClusterHistoryEntry)));
            }

            foreach (var cluster in entries.Select(e => e.Cluster).Distinct(StringComparer.Ordinal))
            {
                batch.BatchCommands.Add(Command(
                    """
                    DELETE FROM cluster_history WHERE cluster = $1 AND id NOT IN (
                        SELECT id FROM cluster_history WHERE cluster = $1 ORDER BY id DESC LIMIT $2)
                    """,
                    cluster,
                    keepPerCluster));
            }
        });
    }

    public IReadOnlyDictionary<string, ulong> LoadEventSequences()
    {
        using var select = _dataSource.CreateCommand("SELECT channel, reserved FROM event_sequences");
        using var reader = select.ExecuteReader();
        var marks = new Dictionary<string, ulong>(StringComparer.Ordinal);
        while (reader.Read())
        {
            marks[reader.GetString(0)] = DecisionMemoryCodec.SequenceFromStored(reader.GetInt64(1));
        }

        Log.MemoryLoaded(_logger, marks.Count, "event channels' reserved sequence numbers");
        return marks;
    }

    public bool ReserveEventSequences(string channel, ulong through)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        return WriteMemory($"the sequence numbers reserved for event channel '{channel}'", batch => batch.BatchCommands.Add(Command(
            """
            INSERT INTO event_sequences (channel, reserved) VALUES ($1, $2)
            ON CONFLICT (channel) DO UPDATE SET reserved = excluded.reserved
            WHERE excluded.reserved > event_sequences.reserved
            """,
            channel,
            DecisionMemoryCodec.SequenceToStored(through))));
    }

    public StoredLoadBalancing LoadLoadBalancing()
    {
        var stored = ReadMemory(DecisionMemoryCodec.LoadBalancingKey, LoadBalancingJsonContext.Default.StoredLoadBalancing) ?? StoredLoadBalancing.Empty;
        Log.MemoryLoaded(_logger, stored.Tables.Count, "load-balancing tables");
        return stored;
    }

    public bool SaveLoadBalancing(StoredLoadBalancing value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return WriteMemory(DecisionMemoryCodec.LoadBalancingKey, value, LoadBalancingJsonContext.Default.StoredLoadBalancing, "the load-balancing tables");
    }

    /// <summary>The value kept under <paramref name="key"/>; null when none is kept or it cannot be read (logged).</summary>
    private T? ReadMemory<T>(string key, JsonTypeInfo<T> type)
        where T : class
    {
        using var select = _dataSource.CreateCommand("SELECT value FROM decision_memory WHERE key = $1");
        select.Parameters.Add(new NpgsqlParameter { Value = key });
        return select.ExecuteScalar() is string json ? Deserialize(json, type, key) : null;
    }

    private T? Deserialize<T>(string json, JsonTypeInfo<T> type, string what)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(json, type);
        }
        catch (JsonException ex)
        {
            Log.MemoryUnreadable(_logger, ex, what, ex.Message);
            return null;
        }
    }

    private bool WriteMemory<T>(string key, T value, JsonTypeInfo<T> type, string what)
    {
        var json = JsonSerializer.Serialize(value, type);

        // updated_at is for a person reading the table (psql); no decision reads it.
        return WriteMemory(what, batch => batch.BatchCommands.Add(Command(
            """
            INSERT INTO decision_memory (key, value, updated_at) VALUES ($1, $2, now())
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
            """,
            key,
            json)));
    }

    /// <summary>One write of the decision memory, in its own durable transaction, as <see cref="SaveAssignment"/>'s; false (logged) when the store failed.</summary>
    private bool WriteMemory(string what, Action<NpgsqlBatch> prepare)
        => WriteDurably(prepare, ex => Log.MemoryWriteFailed(_logger, ex, what));

    private static partial class Log
    {
        [LoggerMessage(EventId = 1360, EventName = "PostgresDecisionMemoryLoaded", Level = LogLevel.Information,
            Message = "Loaded {Count} {What} from the state store.")]
        public static partial void MemoryLoaded(ILogger logger, int count, string what);

        [LoggerMessage(EventId = 1361, EventName = "PostgresDecisionMemoryWriteFailed", Level = LogLevel.Error,
            Message = "Could not write {What} to the state store; the decisions go on from memory, and a restart would start them from what was written last.")]
        public static partial void MemoryWriteFailed(ILogger logger, Exception exception, string what);

        [LoggerMessage(EventId = 1362, EventName = "PostgresDecisionMemoryUnreadable", Level = LogLevel.Warning,
            Message = "Left out {What} of the state store's decision memory: {Reason}.")]
        public static partial void MemoryUnreadable(ILogger logger, Exception? exception, string what, string reason);
    }
}
