namespace Drover.Aggregator.State;

/// <summary>How <see cref="IStateStore.CommitAsync"/> ended.</summary>
internal enum CommitOutcome
{
    /// <summary>Stored durably; the snapshot is now the instance's latest.</summary>
    Committed,

    /// <summary>The same version with the same checksum was stored before; nothing changed.</summary>
    AlreadyCommitted,

    /// <summary>
    /// Refused: the version is not newer than the latest, or it is kept with another checksum.
    /// Sending the same version again cannot succeed.
    /// </summary>
    Stale,

    /// <summary>Refused: the content is not <see cref="SnapshotInfo.SizeBytes"/> long or does not hash to its checksum.</summary>
    Invalid,
}
