using System.Collections.Concurrent;
using Drover.Agent.Events;
using Drover.Protocol.V1;

namespace Drover.Agent.Tests.Shims;

/// <summary>Keeps every status message the shim publishes.</summary>
internal sealed class RecordingStatusEventSink : IStatusEventSink
{
    private readonly ConcurrentQueue<StatusEvent> _events = new();

    public IReadOnlyList<StatusEvent> Events => [.. _events];

    public void Publish(StatusEvent statusEvent) => _events.Enqueue(statusEvent);

    public IReadOnlyList<RequestStatus> StatusesOf(string callId) => Events.Where(e => e.CallId == callId).Select(e => e.Status).ToList();
}
