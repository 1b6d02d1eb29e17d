using System.Collections.Concurrent;
using Drover.Agent.LocalSocket;

namespace Drover.Agent.Tests.LocalSocket;

/// <summary>Answers every commit ok with versions 42, 43... (or throws <see cref="Failure"/>) and records who asked.</summary>
internal sealed class FakeCommitRequester : ICommitRequester
{
    private ulong _version;

    public ConcurrentQueue<string> Requests { get; } = new();

    public Exception? Failure { get; set; }

    public Task<CommitOutcome> CommitNowAsync(string instanceId, CancellationToken cancellationToken)
    {
        Requests.Enqueue(instanceId);
        if (Failure is not null)
        {
            throw Failure;
        }

        return Task.FromResult(new CommitOutcome(true, Interlocked.Increment(ref _version) + 41, null));
    }
}
