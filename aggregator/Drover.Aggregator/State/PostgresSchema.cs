using Npgsql;

namespace Drover.Aggregator.State;

/// <summary>
/// The PostgreSQL store's schema and its migrations: <see cref="Migrations"/>[n - 1] takes a database from version
/// n - 1 to n, and <c>schema_version</c> holds the version a database is at. At start the missing steps run, in order,
/// in one transaction under an advisory lock, so aggregators started together on an empty database create it once.
/// </summary>
/// <remarks>
/// What a later step adds goes at the end; a step already released is never edited, since databases have run it.
/// </remarks>
internal static class PostgresSchema
{
    /// <summary>The first key of the advisory lock that serialises the migrations (the second is 0).</summary>
    public const int MigrationLockClass = 0x44524d00; // "DRM\0"

    /// <summary>The first key of the transaction-level advisory locks on one instance's snapshots (the second is the instance id's hash).</summary>
    public const int InstanceLockClass = 0x44525300; // "DRS\0"

    private static readonly string[] Migrations =
    [
        // 1: what SQLite's schema version 4 holds: snapshots (their archives in 1 MiB chunk rows), assignments,
        //    pending stops, and the decision memory.
        """
        CREATE TABLE snapshots (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            instance_id text NOT NULL,
            version bigint NOT NULL,
            function_name text NOT NULL,
            size_bytes bigint NOT NULL,
            sha256 text NOT NULL,
            source_node_id text NOT NULL,
            taken_at timestamptz NOT NULL,
            committed_at timestamptz NOT NULL,
            UNIQUE (instance_id, version)
        );
        CREATE TABLE snapshot_chunks (
            snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
            seq integer NOT NULL,
            data bytea NOT NULL,
            PRIMARY KEY (snapshot_id, seq)
        );
        CREATE TABLE assignments (
            instance_id text PRIMARY KEY,
            function_name text NOT NULL,
            node_id text NOT NULL,
            epoch bigint NOT NULL,
            home_cluster text
        );
        CREATE TABLE pending_stops (
            instance_id text PRIMARY KEY,
            function_name text NOT NULL,
            node_id text NOT NULL,
            delete_state boolean NOT NULL,
            decided_at timestamptz NOT NULL
        );
        CREATE TABLE decision_memory (
            key text PRIMARY KEY,
            value text NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE TABLE cluster_history (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            cluster text NOT NULL,
            entry text NOT NULL
        );
        CREATE INDEX cluster_history_by_cluster ON cluster_history (cluster, id);
        CREATE TABLE event_sequences (
            channel text PRIMARY KEY,
            reserved bigint NOT NULL
        );
        """,

        // 2: the definitions the API changes, one JSON list per kind (IDefinitionStore), so that every aggregator on
        //    the database reads the same ones (SQLite's store keeps them in the data directory's files).
        """
        CREATE TABLE definitions (
            kind text PRIMARY KEY,
            value text NOT NULL,
            updated_at timestamptz NOT NULL
        );
        """,

        // 3: several aggregators on one database (PostgresStateStore.Leadership.cs). One leadership row: the store's
        //    id and the term, which grows with every election, the holder and where agents and clients reach it, and
        //    its lease in the database's clock (the one clock every aggregator reads). The routing table the leader
        //    publishes for the other aggregators' gateways; the secrets every aggregator must hold alike (the shim
        //    credential). drover_fence(term) fails a leader's write once another leader is elected: it takes the
        //    leadership row FOR SHARE, so an election waits for the write's transaction, and a write after the
        //    election finds the new term and is refused (SQLSTATE DR001).
        """
        CREATE TABLE leadership (
            only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
            store_id text NOT NULL,
            term bigint NOT NULL,
            holder text,
            link_url text,
            api_url text,
            acquired_at timestamptz,
            renewed_at timestamptz,
            lease_until timestamptz
        );
        INSERT INTO leadership (store_id, term) VALUES (gen_random_uuid()::text, 0);
        CREATE TABLE routing (
            only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
            term bigint NOT NULL,
            version bigint NOT NULL,
            value text NOT NULL,
            published_at timestamptz NOT NULL
        );
        CREATE TABLE secrets (
            name text PRIMARY KEY,
            value text NOT NULL
        );
        CREATE FUNCTION drover_fence(leader_term bigint) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM 1 FROM leadership WHERE term = leader_term FOR SHARE;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'term % is no longer the leader''s: another aggregator was elected', leader_term USING ERRCODE = 'DR001';
            END IF;
        END $$;
        """,
    ];

    /// <summary>The schema this code reads and writes.</summary>
    public static int Version => Migrations.Length;

    /// <summary>
    /// Brings the database to <see cref="Version"/>; returns the version it was at (0: empty). Throws
    /// <see cref="InvalidOperationException"/> when it is at a version this code does not know (a newer aggregator wrote it).
    /// </summary>
    public static int Migrate(NpgsqlConnection connection, string description)
    {
        using var transaction = connection.BeginTransaction();
        using var command = new NpgsqlCommand(
            $"""
            SELECT pg_advisory_xact_lock({MigrationLockClass}, 0);
            CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL);
            """,
            connection,
            transaction);
        command.ExecuteNonQuery();
        command.CommandText = "SELECT max(version) FROM schema_version";
        var found = command.ExecuteScalar();
        var from = found is int version ? version : 0;
        if (from > Version)
        {
            throw new InvalidOperationException(
                $"'{description}' has state schema version {from}; this aggregator reads schema version {Version}. Was it written by a newer aggregator?");
        }

        for (var step = from; step < Version; step++)
        {
            command.CommandText = Migrations[step];
            command.ExecuteNonQuery();
        }

        if (from < Version)
        {
            command.CommandText = from == 0
                ? $"INSERT INTO schema_version (version) VALUES ({Version})"
                : $"UPDATE schema_version SET version = {Version}";
            command.ExecuteNonQuery();
        }

        transaction.Commit();
        return from;
    }
}
