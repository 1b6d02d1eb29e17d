namespace Drover.Aggregator.State;

/// <summary>
/// The aggregator's persistent state storage: committed snapshots of instances' local state
/// directories, the last few versions of each instance. SQLite implements it for a single
/// aggregator (<see cref="SqliteStateStore"/>), PostgreSQL for deployments whose aggregators share a
/// database (<see cref="PostgresStateStore"/>); both as part of the one store, <see cref="IAggregatorStore"/>.
/// </summary>
/// <remarks>
/// What every implementation promises:
/// <list type="bullet">
/// <item>A commit is atomic and durable: the description and the archive are stored in one
/// transaction, made durable (fsync) before <see cref="CommitAsync"/> returns
/// <see cref="CommitOutcome.Committed"/>. A failed, refused or cancelled commit leaves no trace, and
/// the previous latest version stays current.</item>
/// <item>Versions of one instance only move forward. Committing the version already kept with the
/// same checksum is a no-op (<see cref="CommitOutcome.AlreadyCommitted"/>), so an agent may retry a
/// commit whose acknowledgement it lost. A version not newer than the latest, or a kept version
/// with another checksum, is <see cref="CommitOutcome.Stale"/>.</item>
/// <item>The store checks the content against <see cref="SnapshotInfo.SizeBytes"/> and
/// <see cref="SnapshotInfo.Sha256Hex"/> as it writes it and refuses a mismatch
/// (<see cref="CommitOutcome.Invalid"/>): what is kept always hashes to its checksum.</item>
/// <item>Only a bounded number of the newest versions per instance are kept; older ones are removed
/// in the same transaction as the commit that makes them surplus.</item>
/// <item>Archives are streamed in and out, never held whole in memory. A stream handed out reads a
/// consistent view: a commit or a pruning that happens while it is open does not change it.</item>
/// <item>Safe for concurrent use by many agent streams.</item>
/// </list>
/// </remarks>
internal interface IStateStore
{
    /// <summary>
    /// The instance's newest kept snapshot, opened for reading, or null when none is kept. The
    /// caller disposes it.
    /// </summary>
    Task<StoredSnapshot?> GetLatestAsync(string instanceId, CancellationToken cancellationToken);

    /// <summary>The descriptions of the instance's kept snapshots, newest first; empty when none.</summary>
    Task<IReadOnlyList<SnapshotInfo>> ListAsync(string instanceId, CancellationToken cancellationToken);

    /// <summary>
    /// One kept version's archive, positioned at its start, or null when that version is not (or no
    /// longer) kept. The caller disposes it.
    /// </summary>
    Task<Stream?> OpenReadAsync(string instanceId, long version, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a snapshot: reads exactly <see cref="SnapshotInfo.SizeBytes"/> bytes from
    /// <paramref name="content"/>'s current position and makes it the instance's latest version,
    /// or refuses it (see the outcomes of <see cref="CommitOutcome"/>). Errors of the store itself
    /// (disk full, database unavailable) are thrown; nothing is stored then either.
    /// </summary>
    Task<CommitResult> CommitAsync(SnapshotInfo info, Stream content, CancellationToken cancellationToken);

    /// <summary>
    /// Every instance with kept snapshots, described by its newest, ordered by instance id; what
    /// the state pruning (<see cref="StatePruner"/>) weighs. Reads descriptions only, never archives.
    /// </summary>
    Task<IReadOnlyList<StoredInstance>> ListInstancesAsync(CancellationToken cancellationToken);

    /// <summary>Forgets every snapshot of the instance; nothing happens when there are none.</summary>
    Task DeleteInstanceAsync(string instanceId, CancellationToken cancellationToken);
}
