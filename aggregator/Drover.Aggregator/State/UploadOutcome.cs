namespace Drover.Aggregator.State;

/// <summary>Where an upload stands after one of its chunks.</summary>
internal enum UploadOutcome
{
    /// <summary>The chunk was taken; more are expected. Nothing is acknowledged to the agent yet.</summary>
    Pending,

    /// <summary>The last chunk completed the upload and the snapshot is stored durably and current.</summary>
    Committed,

    /// <summary>The last chunk completed an upload of a version already stored with the same checksum.</summary>
    AlreadyCommitted,

    /// <summary>
    /// The chunk or the upload was refused (see the reason) and the upload, if one was in progress,
    /// is discarded; nothing became current. The agent may start the upload again from chunk 0.
    /// </summary>
    Refused,

    /// <summary>
    /// Refused because the copy that sent it is fenced off (<see cref="Drover.Decisions.Placement.EpochFence"/>): it was started
    /// under an older assignment than the instance's current one. Nothing became current, and the
    /// agent must not retry: it stops that copy.
    /// </summary>
    Fenced,
}
