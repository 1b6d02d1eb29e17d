namespace Drover.Protocol.Snapshots;

/// <summary>The bounds of a state snapshot, one number for both programs.</summary>
public static class SnapshotLimits
{
    /// <summary>
    /// The largest snapshot archive: the most the aggregator stores and an agent restores by default,
    /// and the most an agent commits (its <c>maxStateBytes</c> may only lower it).
    /// </summary>
    public const long MaxSnapshotBytes = 256L * 1024 * 1024;
}
