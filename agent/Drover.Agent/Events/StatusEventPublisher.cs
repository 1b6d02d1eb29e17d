using Drover.Agent.Link;
using Drover.Protocol.V1;

namespace Drover.Agent.Events;

/// <summary>Sends the shims' status messages to the aggregator, which numbers them on their channels.</summary>
internal sealed class StatusEventPublisher : IStatusEventSink
{
    private readonly AgentOutbox _outbox;

    public StatusEventPublisher(AgentOutbox outbox) => _outbox = outbox;

    public void Publish(StatusEvent statusEvent) => _outbox.TrySend(new AgentMessage { StatusEvent = statusEvent });
}
