using System.Threading.Channels;
using Drover.Protocol.V1;

namespace Drover.Agent.Link;

/// <summary>
/// Where the agent's features put messages for the aggregator: the outbox of the stream that is open
/// now, if any. Kept apart from the link so features can send without depending on the link, and the
/// link can hand them aggregator messages without depending on them.
/// </summary>
internal sealed class AgentOutbox
{
    /// <summary>How many messages may wait for the stream before new ones are refused.</summary>
    public const int Capacity = 1024;

    private volatile Channel<OutgoingMessage>? _current;

    /// <summary>Raised (on the link's thread) once a new stream is welcomed: features resend what the aggregator must know.</summary>
    public event Action? Connected;

    /// <summary>Raised when the stream ends: what waits for an answer on it will get none.</summary>
    public event Action? Disconnected;

    public bool IsConnected => _current is not null;

    /// <summary>Queues a message for the open stream; false (nothing queued) while none is open or the outbox is full.</summary>
    public bool TrySend(AgentMessage message) => TrySend(new OutgoingMessage(message, null));

    internal bool TrySend(OutgoingMessage message)
    {
        var current = _current;
        return current is not null && current.Writer.TryWrite(message);
    }

    /// <summary>A fresh outbox for a new stream; messages queued for a broken stream are not replayed.</summary>
    /// <remarks>Wait mode, so that TryWrite on a full outbox answers false rather than dropping silently.</remarks>
    internal Channel<OutgoingMessage> Open() => Channel.CreateBounded<OutgoingMessage>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    internal void Attach(Channel<OutgoingMessage> outbox)
    {
        _current = outbox;
        Connected?.Invoke();
    }

    internal void Detach(Channel<OutgoingMessage> outbox)
    {
        Interlocked.CompareExchange(ref _current, null, outbox);
        outbox.Writer.TryComplete();

        // What was queued for the broken stream will never be written: say so to whoever waits.
        while (outbox.Reader.TryRead(out var abandoned))
        {
            abandoned.Written?.TrySetException(new IOException("the stream to the aggregator ended before the message was sent"));
        }

        Disconnected?.Invoke();
    }

    /// <summary>The open stream's outbox, for the link's clean stop.</summary>
    internal Channel<OutgoingMessage>? Current => _current;
}

/// <summary>A message for the aggregator, with an optional signal for when it was written to the stream.</summary>
internal sealed record OutgoingMessage(AgentMessage Message, TaskCompletionSource? Written);
