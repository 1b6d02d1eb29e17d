namespace Drover.Aggregator.State;

/// <summary>The outcome of a commit, with the instance's latest kept version after it and, when refused, why.</summary>
internal sealed record CommitResult(CommitOutcome Outcome, long LatestVersion, string? Reason)
{
    public bool IsStored => Outcome is CommitOutcome.Committed or CommitOutcome.AlreadyCommitted;

    public static CommitResult Committed(long version) => new(CommitOutcome.Committed, version, null);

    public static CommitResult AlreadyCommitted(long latestVersion) => new(CommitOutcome.AlreadyCommitted, latestVersion, null);

    public static CommitResult Stale(long latestVersion, string reason) => new(CommitOutcome.Stale, latestVersion, reason);

    public static CommitResult Invalid(long latestVersion, string reason) => new(CommitOutcome.Invalid, latestVersion, reason);
}
