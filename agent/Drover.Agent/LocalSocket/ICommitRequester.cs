namespace Drover.Agent.LocalSocket;

/// <summary>Commits an instance's local state to persistent storage at once (CommitNow on the local socket).</summary>
internal interface ICommitRequester
{
    /// <summary>
    /// Commits the state of <paramref name="instanceId"/> and reports how it went. A failed commit is
    /// an outcome, not an exception; <paramref name="cancellationToken"/> is cancelled when the agent stops.
    /// </summary>
    Task<CommitOutcome> CommitNowAsync(string instanceId, CancellationToken cancellationToken);
}
