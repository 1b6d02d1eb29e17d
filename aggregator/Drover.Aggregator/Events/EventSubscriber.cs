using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Events;

/// <summary>
/// One subscription to the <see cref="EventHub"/>: the kept history it asked for, then new messages
/// through a bounded buffer. A subscriber that lets its buffer fill is ended, not skipped: its
/// enumeration stops and <see cref="EndReason"/> says why, so it can resume from its last number.
/// </summary>
internal sealed class EventSubscriber : IDisposable
{
    private readonly EventHub _hub;
    private readonly IReadOnlyList<ChannelEvent> _replay;
    private readonly Channel<ChannelEvent> _live;
    private volatile string? _endReason;

    internal EventSubscriber(EventHub hub, EventFilter filter, IReadOnlyList<ChannelEvent> replay, int capacity)
    {
        _hub = hub;
        Filter = filter;
        _replay = replay;
        _live = Channel.CreateBounded<ChannelEvent>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public EventFilter Filter { get; }

    /// <summary>Why the hub ended the subscription (its buffer was full); null while it lasts or after <see cref="Dispose"/>.</summary>
    public string? EndReason => _endReason;

    /// <summary>The replayed history, then every new message, in order per channel, until the subscription ends.</summary>
    public async IAsyncEnumerable<ChannelEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var replayed in _replay)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return replayed;
        }

        await foreach (var live in _live.Reader.ReadAllAsync(cancellationToken))
        {
            yield return live;
        }
    }

    public void Dispose()
    {
        _hub.Unsubscribe(this);
        _live.Writer.TryComplete();
    }

    /// <summary>Whether the hub has it in its lists and counts it; read and written under the hub's lock.</summary>
    internal bool Registered { get; set; }

    /// <summary>Called by the hub under its lock; false when the buffer is full, which ends the subscription.</summary>
    internal bool TryDeliver(ChannelEvent channelEvent)
    {
        if (_live.Writer.TryWrite(channelEvent))
        {
            return true;
        }

        _endReason = $"the subscriber fell {_live.Reader.Count} messages behind, the most its buffer holds";
        _live.Writer.TryComplete();
        return false;
    }
}
