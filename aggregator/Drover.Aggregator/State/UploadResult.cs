namespace Drover.Aggregator.State;

/// <summary>
/// The outcome of one chunk: <see cref="Info"/> is the stored snapshot when committed, or already
/// committed; <see cref="Reason"/> is a sentence naming the cause when refused.
/// </summary>
internal sealed record UploadResult(UploadOutcome Outcome, SnapshotInfo? Info, string? Reason)
{
    public static readonly UploadResult Pending = new(UploadOutcome.Pending, null, null);

    /// <summary>Whether the snapshot is stored and the agent may stop retrying this version.</summary>
    public bool IsStored => Outcome is UploadOutcome.Committed or UploadOutcome.AlreadyCommitted;

    public static UploadResult Committed(SnapshotInfo info) => new(UploadOutcome.Committed, info, null);

    public static UploadResult AlreadyCommitted(SnapshotInfo info) => new(UploadOutcome.AlreadyCommitted, info, null);

    public static UploadResult Refused(string reason) => new(UploadOutcome.Refused, null, reason);

    public static UploadResult Fenced(string reason) => new(UploadOutcome.Fenced, null, reason);
}
