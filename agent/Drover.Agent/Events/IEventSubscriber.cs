using Drover.Protocol.V1;

namespace Drover.Agent.Events;

/// <summary>A local subscriber of a channel (an instance's local-socket connection).</summary>
internal interface IEventSubscriber
{
    /// <summary>
    /// Hands over one message; never blocks. False when the subscriber cannot keep up: the relay
    /// drops it, and the subscriber is expected to close itself.
    /// </summary>
    bool TryDeliver(ChannelEvent channelEvent);
}
