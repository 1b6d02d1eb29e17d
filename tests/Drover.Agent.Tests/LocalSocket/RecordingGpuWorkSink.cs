using System.Collections.Concurrent;
using Drover.Agent.LocalSocket;
using Drover.Agent.Telemetry;

namespace Drover.Agent.Tests.LocalSocket;

/// <summary>A <see cref="ReportedGpuWork"/> that also lets a test wait for an instance to be forgotten.</summary>
internal sealed class RecordingGpuWorkSink : IGpuWorkSink
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _forgotten = new(StringComparer.Ordinal);

    public ReportedGpuWork Work { get; } = new();

    public ConcurrentQueue<string> Forgotten { get; } = new();

    public void Report(string instanceId, string gpuUuid, ulong submitted, ulong completed)
        => Work.Report(instanceId, gpuUuid, submitted, completed);

    public void Forget(string instanceId)
    {
        Work.Forget(instanceId);
        Forgotten.Enqueue(instanceId);
        Waiter(instanceId).TrySetResult();
    }

    public Task WaitForgottenAsync(string instanceId) => Waiter(instanceId).Task.WaitAsync(LocalSocketTestClient.Timeout);

    private TaskCompletionSource Waiter(string instanceId)
        => _forgotten.GetOrAdd(instanceId, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}
