using Drover.Aggregator.Leadership;
using Npgsql;

namespace Drover.Aggregator.State;

/// <summary>
/// What several aggregators on one database share besides the state (schema version 3): the leadership row with its
/// term and lease, the routing table the leader publishes for every aggregator's gateway, the fleet's secrets, and
/// the fence on the leader's writes. Every time is the database's (<c>now()</c>): the one clock all aggregators read,
/// so no two hosts' clocks are compared.
/// </summary>
internal sealed partial class PostgresStateStore
{
    private const string LeadershipColumns =
        "store_id, term, holder, link_url, api_url, acquired_at, now() - renewed_at, lease_until IS NOT NULL AND lease_until > now()";

    /// <summary>SQLSTATE of drover_fence's refusal: a write of a term that is no longer the leader's.</summary>
    public const string FencedState = "DR001";

    private long _fenceTerm;

    /// <summary>
    /// The term this aggregator leads in, once elected: from then on every write it makes (assignments, decision
    /// memory, definitions, commits) is fenced by it, and fails once another aggregator is elected. 0: not fenced.
    /// </summary>
    public long FenceTerm
    {
        get => Interlocked.Read(ref _fenceTerm);
        set => Interlocked.Exchange(ref _fenceTerm, value);
    }

    /// <summary>The leadership row as it stands now.</summary>
    public async Task<LeaderView> ReadLeadershipAsync(CancellationToken cancellationToken)
    {
        await using var select = _dataSource.CreateCommand($"SELECT {LeadershipColumns} FROM leadership");
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            throw new InvalidOperationException($"'{Description}' has no leadership row (schema version 3 makes it)");
        }

        return ReadLeadership(reader);
    }

    /// <summary>
    /// Takes the leadership when no lease is running (none yet, or the last one lapsed or was given up): the term grows
    /// by one and this aggregator holds it for <paramref name="lease"/>. Null when another aggregator's lease runs.
    /// </summary>
    public async Task<LeaderView?> TryAcquireLeadershipAsync(string holder, string linkUrl, string apiUrl, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var update = _dataSource.CreateCommand(
            $"""
            UPDATE leadership
            SET term = term + 1, holder = $1, link_url = $2, api_url = $3, acquired_at = now(), renewed_at = now(),
                lease_until = now() + $4
            WHERE lease_until IS NULL OR lease_until <= now()
            RETURNING {LeadershipColumns}
            """);
        update.Parameters.Add(new NpgsqlParameter { Value = holder });
        update.Parameters.Add(new NpgsqlParameter { Value = linkUrl });
        update.Parameters.Add(new NpgsqlParameter { Value = apiUrl });
        update.Parameters.Add(new NpgsqlParameter { Value = lease });
        await using var reader = await update.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadLeadership(reader) : null;
    }

    /// <summary>Extends the lease of <paramref name="term"/> by <paramref name="lease"/> from now; false when the term is no longer this holder's.</summary>
    public async Task<bool> RenewLeadershipAsync(string holder, long term, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var update = _dataSource.CreateCommand(
            "UPDATE leadership SET renewed_at = now(), lease_until = now() + $3 WHERE term = $1 AND holder = $2");
        update.Parameters.Add(new NpgsqlParameter { Value = term });
        update.Parameters.Add(new NpgsqlParameter { Value = holder });
        update.Parameters.Add(new NpgsqlParameter { Value = lease });
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Ends the lease of <paramref name="term"/> now (a clean stop), so that a follower takes over at once.</summary>
    public async Task ReleaseLeadershipAsync(string holder, long term, CancellationToken cancellationToken)
    {
        await using var update = _dataSource.CreateCommand(
            "UPDATE leadership SET lease_until = now() WHERE term = $1 AND holder = $2");
        update.Parameters.Add(new NpgsqlParameter { Value = term });
        update.Parameters.Add(new NpgsqlParameter { Value = holder });
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Publishes the routing table (JSON) of <paramref name="term"/>; false when the term is no longer the leader's (nothing written).</summary>
    public async Task<bool> PublishRoutingAsync(long term, long version, string json, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var idle = new NpgsqlCommand(FencedIdleTimeout, connection, transaction))
        {
            await idle.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var publish = new NpgsqlCommand(
            """
            INSERT INTO routing (term, version, value, published_at)
            SELECT $1, $2, $3, now() FROM leadership WHERE term = $1 FOR SHARE
            ON CONFLICT (only_row) DO UPDATE SET term = excluded.term, version = excluded.version, value = excluded.value,
                published_at = excluded.published_at
            """,
            connection,
            transaction);
        publish.Parameters.Add(new NpgsqlParameter { Value = term });
        publish.Parameters.Add(new NpgsqlParameter { Value = version });
        publish.Parameters.Add(new NpgsqlParameter { Value = json });
        var written = await publish.ExecuteNonQueryAsync(cancellationToken) == 1;
        await transaction.CommitAsync(cancellationToken);
        return written;
    }

    /// <summary>The term and version of the routing table published last; null when none was.</summary>
    public async Task<(long Term, long Version)?> ReadRoutingVersionAsync(CancellationToken cancellationToken)
    {
        await using var select = _dataSource.CreateCommand("SELECT term, version FROM routing");
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetInt64(0), reader.GetInt64(1)) : null;
    }

    /// <summary>The routing table published last, with its term and version; null when none was.</summary>
    public async Task<(long Term, long Version, string Json)?> ReadRoutingAsync(CancellationToken cancellationToken)
    {
        await using var select = _dataSource.CreateCommand("SELECT term, version, value FROM routing");
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2)) : null;
    }

    /// <summary>The secret kept under <paramref name="name"/>; the first aggregator to ask keeps <paramref name="create"/>'s, and every one reads that.</summary>
    public string GetOrCreateSecret(string name, Func<string> create)
    {
        using var connection = _dataSource.OpenConnection();
        using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(Command("INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", name, create()));
        batch.BatchCommands.Add(Command("SELECT value FROM secrets WHERE name = $1", name));
        return (string)batch.ExecuteScalar()!;
    }

    /// <summary>
    /// How long a transaction holding the leadership row <c>FOR SHARE</c> may sit idle before the server ends its
    /// session: a leader cut off between its fence and its COMMIT would otherwise hold every election back until TCP
    /// keep-alive noticed (hours at the kernel's defaults).
    /// </summary>
    private const string FencedIdleTimeout = "SET LOCAL idle_in_transaction_session_timeout = '2s'";

    /// <summary>Adds the fence of <see cref="FenceTerm"/> (when set) as the first statement of a leader's write.</summary>
    private void Fence(NpgsqlBatch batch)
    {
        if (FenceTerm is var term and > 0)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(FencedIdleTimeout));
            batch.BatchCommands.Add(Command("SELECT drover_fence($1)", term));
        }
    }

    private static LeaderView ReadLeadership(NpgsqlDataReader reader) => new(
        reader.GetString(0),
        reader.GetInt64(1),
        reader.IsDBNull(2) ? null : reader.GetString(2),
        reader.IsDBNull(3) ? "" : reader.GetString(3),
        reader.IsDBNull(4) ? "" : reader.GetString(4),
        reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
        reader.IsDBNull(6) ? null : reader.GetFieldValue<TimeSpan>(6),
        reader.GetBoolean(7));
}
