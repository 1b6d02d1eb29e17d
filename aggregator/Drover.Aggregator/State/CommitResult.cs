namespace Drover.Aggregator.State;

/// <summary>The outcome of a commit, with the instance's latest kept version after it and, when refused, why.</summary>
internal sealed record CommitResult(CommitOutcome Outcome, long LatestVersion, string? Reason)
{
    public bool IsStored => Outcome is CommitOutcome.Committed or CommitOutcome.AlreadyCommitted;

    public static CommitResult Committed(long version) => new(CommitOutcome.Committed, version, null);

    public static CommitResult AlreadyCommitted(long latestVersion) => new(CommitOutcome.AlreadyCommitted, latestVersion, null);

    public static CommitResult Stale(long latestVersion, string reason) => new(CommitOutcome.Stale, latestVersion, reason);

    public static CommitResult Invalid(long latestVersion, string reason) => new(CommitOutcome.Invalid, latestVersion, reason);

    /// <summary>
    /// Whether <paramref name="info"/> may be stored, given what the store already holds for its instance (the latest
    /// version, and the checksum kept for this version if any): null to store it; else the answer without storing,
    /// already committed (the same version with the same checksum: a retried commit) or stale (another checksum for
    /// this version, or a version not newer than the latest). The rule every store applies, in its transaction.
    /// </summary>
    public static CommitResult? Refusal(SnapshotInfo info, long? latest, string? kept)
    {
        if (kept is not null)
        {
            return string.Equals(kept, info.Sha256Hex, StringComparison.OrdinalIgnoreCase)
                ? AlreadyCommitted(latest ?? info.Version)
                : Stale(latest ?? info.Version, $"version {info.Version} of instance '{info.InstanceId}' is already committed with sha256 {kept}, not {info.Sha256Hex}");
        }

        return latest is { } latestVersion && info.Version <= latestVersion
            ? Stale(latestVersion, $"version {info.Version} of instance '{info.InstanceId}' is not newer than its latest committed version {latestVersion}")
            : null;
    }
}
