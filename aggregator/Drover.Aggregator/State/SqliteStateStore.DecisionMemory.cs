using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Drover.Aggregator.Clusters;
using Drover.Decisions.Health;
using Drover.Decisions.Scaling;
using Microsoft.Data.Sqlite;

namespace Drover.Aggregator.State;

/// <summary>
/// The decision memory (<see cref="IDecisionMemoryStore"/>) in <c>state.db</c>, since schema version 3:
/// <list type="bullet">
/// <item><c>decision_memory</c>: one JSON value per key, replaced whole by each save; the node penalties
/// (<c>placement/node-penalties</c>: node → when its penalty ends, UTC), the scale-down windows
/// (<c>scaling/windows</c>: function → <c>belowForMs</c>) and the clusters' last health states
/// (<c>health/previous</c>: cluster → <c>health</c>, <c>healthyForMs</c>) and the load-balancing tables with the
/// coordination's memory (<c>balancing/coordination</c>, <see cref="StoredLoadBalancing"/>). Each is a few entries per node,
/// function or cluster, so a whole rewrite costs no more than a row would.</item>
/// <item><c>cluster_history</c>: one row per health transition, appended, the oldest beyond
/// <c>clusterHistory</c> per cluster deleted in the same transaction: a history can hold up to a million
/// entries, too many to rewrite for each new one.</item>
/// <item><c>event_sequences</c>: per event channel, the highest sequence number reserved (see
/// <see cref="Events.EventHub"/>); a mark only moves up.</item>
/// </list>
/// Written through the same single writer, each save in its own durable transaction.
/// </summary>
internal sealed partial class SqliteStateStore
{
    private const string PenaltiesKey = DecisionMemoryCodec.PenaltiesKey;
    private const string ScalingWindowsKey = DecisionMemoryCodec.ScalingWindowsKey;
    private const string ClusterHealthKey = DecisionMemoryCodec.ClusterHealthKey;
    private const string LoadBalancingKey = DecisionMemoryCodec.LoadBalancingKey;
    private const string LeadershipKey = "leadership";
    private readonly Lock _termGate = new();

    private const string DecisionMemoryTables = """
        CREATE TABLE decision_memory (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE cluster_history (
            id INTEGER PRIMARY KEY,
            cluster TEXT NOT NULL,
            entry TEXT NOT NULL
        );
        CREATE INDEX cluster_history_by_cluster ON cluster_history (cluster, id);
        CREATE TABLE event_sequences (
            channel TEXT PRIMARY KEY,
            reserved INTEGER NOT NULL
        );
        """;

    public IReadOnlyDictionary<string, DateTimeOffset> LoadNodePenalties()
    {
        var stored = ReadMemory(PenaltiesKey, DecisionMemoryJsonContext.Default.DictionaryStringDateTimeOffset);
        var penalties = DecisionMemoryCodec.PenaltiesFromStored(stored);
        Log.MemoryLoaded(_logger, penalties.Count, "node penalties");
        return penalties;
    }

    public bool SaveNodePenalties(IReadOnlyDictionary<string, DateTimeOffset> endsAt)
    {
        ArgumentNullException.ThrowIfNull(endsAt);
        var stored = DecisionMemoryCodec.PenaltiesToStored(endsAt);
        return WriteMemory(PenaltiesKey, stored, DecisionMemoryJsonContext.Default.DictionaryStringDateTimeOffset, "the node penalties");
    }

    public IReadOnlyDictionary<string, ScalingPrevious> LoadScalingWindows()
    {
        var windows = DecisionMemoryCodec.WindowsFromStored(ReadMemory(ScalingWindowsKey, DecisionMemoryJsonContext.Default.DictionaryStringStoredScalingWindow));
        Log.MemoryLoaded(_logger, windows.Count, "scale-down windows");
        return windows;
    }

    public bool SaveScalingWindows(IReadOnlyDictionary<string, ScalingPrevious> windows)
    {
        ArgumentNullException.ThrowIfNull(windows);
        var stored = DecisionMemoryCodec.WindowsToStored(windows);
        return WriteMemory(ScalingWindowsKey, stored, DecisionMemoryJsonContext.Default.DictionaryStringStoredScalingWindow, "the scale-down windows");
    }

    public IReadOnlyDictionary<string, PreviousClusterHealth> LoadClusterHealth()
    {
        var previous = DecisionMemoryCodec.HealthFromStored(
            ReadMemory(ClusterHealthKey, DecisionMemoryJsonContext.Default.DictionaryStringStoredClusterHealth),
            (what, reason) => Log.MemoryUnreadable(_logger, null, what, reason));

        Log.MemoryLoaded(_logger, previous.Count, "cluster health states");
        return previous;
    }

    public bool SaveClusterHealth(IReadOnlyDictionary<string, PreviousClusterHealth> previous)
    {
        ArgumentNullException.ThrowIfNull(previous);
        var stored = DecisionMemoryCodec.HealthToStored(previous);
        return WriteMemory(ClusterHealthKey, stored, DecisionMemoryJsonContext.Default.DictionaryStringStoredClusterHealth, "the cluster health states");
    }

    public IReadOnlyDictionary<string, IReadOnlyList<ClusterHistoryEntry>> LoadClusterHistory(int keepPerCluster)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keepPerCluster, 1);
        using var connection = Open();
        using var select = connection.CreateCommand();
        select.CommandText = """
            SELECT id, cluster, entry FROM (
                SELECT id, cluster, entry, row_number() OVER (PARTITION BY cluster ORDER BY id DESC) AS newest
                FROM cluster_history)
            WHERE newest <= $keep ORDER BY cluster, id
            """;
        select.Parameters.AddWithValue("$keep", keepPerCluster);
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

        return WriteMemory("the cluster history", command =>
        {
            command.CommandText = "INSERT INTO cluster_history (cluster, entry) VALUES ($cluster, $entry)";
            var cluster = command.Parameters.Add("$cluster", SqliteType.Text);
            var entry = command.Parameters.Add("$entry", SqliteType.Text);
            foreach (var (name, value) in entries)
            {
                cluster.Value = name;
                entry.Value = JsonSerializer.Serialize(value, DecisionMemoryJsonContext.Default.ClusterHistoryEntry);
                command.ExecuteNonQuery();
            }

            command.Parameters.Clear();
            command.CommandText = """
                DELETE FROM cluster_history WHERE cluster = $cluster AND id NOT IN (
                    SELECT id FROM cluster_history WHERE cluster = $cluster ORDER BY id DESC LIMIT $keep)
                """;
            cluster = command.Parameters.Add("$cluster", SqliteType.Text);
            command.Parameters.AddWithValue("$keep", keepPerCluster);
            foreach (var name in entries.Select(e => e.Cluster).Distinct(StringComparer.Ordinal))
            {
                cluster.Value = name;
                command.ExecuteNonQuery();
            }
        });
    }

    public IReadOnlyDictionary<string, ulong> LoadEventSequences()
    {
        using var connection = Open();
        using var select = connection.CreateCommand();
        select.CommandText = "SELECT channel, reserved FROM event_sequences";
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
        return WriteMemory($"the sequence numbers reserved for event channel '{channel}'", command =>
        {
            command.CommandText = """
                INSERT INTO event_sequences (channel, reserved) VALUES ($channel, $through)
                ON CONFLICT (channel) DO UPDATE SET reserved = excluded.reserved
                WHERE excluded.reserved > event_sequences.reserved;
                """;
            command.Parameters.AddWithValue("$channel", channel);
            command.Parameters.AddWithValue("$through", DecisionMemoryCodec.SequenceToStored(through));
            command.ExecuteNonQuery();
        });
    }

    public StoredLoadBalancing LoadLoadBalancing()
    {
        var stored = ReadMemory(LoadBalancingKey, LoadBalancingJsonContext.Default.StoredLoadBalancing) ?? StoredLoadBalancing.Empty;
        Log.MemoryLoaded(_logger, stored.Tables.Count, "load-balancing tables");
        return stored;
    }

    public bool SaveLoadBalancing(StoredLoadBalancing value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return WriteMemory(LoadBalancingKey, value, LoadBalancingJsonContext.Default.StoredLoadBalancing, "the load-balancing tables");
    }

    /// <summary>
    /// Begins this start's leadership term (a lone aggregator leads from its start): the store's id, made at the first
    /// start, and the term kept before plus one, kept durably before it is used. Throws when it cannot be kept: a term
    /// that is not durable could be handed out twice.
    /// </summary>
    public StoredLeadership BeginLoneTerm() => KeepTerm(kept => kept.Term + 1);

    /// <summary>Moves the term above <paramref name="seen"/> (a <c>state.db</c> restored from a backup, whose agents accepted a later term); the term now kept.</summary>
    public long RaiseTerm(long seen) => KeepTerm(kept => Math.Max(kept.Term, seen) + 1).Term;

    private StoredLeadership KeepTerm(Func<StoredLeadership, long> next)
    {
        lock (_termGate)
        {
            var kept = ReadMemory(LeadershipKey, StoredLeadershipJsonContext.Default.StoredLeadership)
                ?? new StoredLeadership(Guid.NewGuid().ToString("N"), 0);
            var begun = kept with { Term = next(kept) };
            if (!WriteMemory(LeadershipKey, begun, StoredLeadershipJsonContext.Default.StoredLeadership, "the leadership term"))
            {
                throw new IOException($"'{DatabasePath}': the leadership term could not be written");
            }

            return begun;
        }
    }

    /// <summary>The value kept under <paramref name="key"/>; null when none is kept or it cannot be read (logged).</summary>
    private T? ReadMemory<T>(string key, JsonTypeInfo<T> type)
        where T : class
    {
        using var connection = Open();
        using var select = connection.CreateCommand();
        select.CommandText = "SELECT value FROM decision_memory WHERE key = $key";
        select.Parameters.AddWithValue("$key", key);
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
        return WriteMemory(what, command =>
        {
            // updated_at is for a person reading the file (the sqlite3 shell); no decision reads it.
            command.CommandText = """
                INSERT INTO decision_memory (key, value, updated_at)
                VALUES ($key, $value, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at;
                """;
            command.Parameters.AddWithValue("$key", key);
            command.Parameters.AddWithValue("$value", json);
            command.ExecuteNonQuery();
        });
    }

    /// <summary>One write of the decision memory, in its own durable transaction, as <see cref="SaveAssignment"/>'s; false (logged) when the store failed.</summary>
    private bool WriteMemory(string what, Action<SqliteCommand> write)
        => WriteDurably(write, ex => Log.MemoryWriteFailed(_logger, ex, what));

    private static partial class Log
    {
        [LoggerMessage(EventId = 1341, EventName = "DecisionMemoryLoaded", Level = LogLevel.Information,
            Message = "Loaded {Count} {What} from the state store.")]
        public static partial void MemoryLoaded(ILogger logger, int count, string what);

        [LoggerMessage(EventId = 1342, EventName = "DecisionMemoryWriteFailed", Level = LogLevel.Error,
            Message = "Could not write {What} to the state store; the decisions go on from memory, and a restart would start them from what was written last.")]
        public static partial void MemoryWriteFailed(ILogger logger, Exception exception, string what);

        [LoggerMessage(EventId = 1343, EventName = "DecisionMemoryUnreadable", Level = LogLevel.Warning,
            Message = "Left out {What} of the state store's decision memory: {Reason}.")]
        public static partial void MemoryUnreadable(ILogger logger, Exception? exception, string what, string reason);
    }
}
