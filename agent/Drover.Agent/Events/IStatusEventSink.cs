using Drover.Protocol.V1;

namespace Drover.Agent.Events;

/// <summary>Where the shims put the status messages of the requests they handle; never blocks.</summary>
internal interface IStatusEventSink
{
    /// <summary>Queues one status message for its channel (see <see cref="StatusEvent.Channel"/>).</summary>
    void Publish(StatusEvent statusEvent);
}
