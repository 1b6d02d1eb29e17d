using Drover.Agent.Events;
using Drover.Protocol.V1;

namespace Drover.Agent.Tests.Events;

/// <summary>A local subscriber that keeps the sequences it is given; full after <paramref name="capacity"/>.</summary>
internal sealed class RecordingSubscriber(int capacity = int.MaxValue) : IEventSubscriber
{
    public List<ulong> Sequences { get; } = [];

    public bool TryDeliver(ChannelEvent channelEvent)
    {
        if (Sequences.Count >= capacity)
        {
            return false;
        }

        Sequences.Add(channelEvent.Sequence);
        return true;
    }
}
