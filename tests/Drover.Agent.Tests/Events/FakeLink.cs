using System.Threading.Channels;
using Drover.Agent.Link;
using Drover.Protocol.V1;

namespace Drover.Agent.Tests.Events;

/// <summary>An <see cref="AgentOutbox"/> with streams the test opens and breaks, and reads as the link's writer would.</summary>
internal sealed class FakeLink
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private Channel<OutgoingMessage>? _stream;

    public AgentOutbox Outbox { get; } = new();

    /// <summary>Opens a stream and welcomes it (raises Connected).</summary>
    public void Connect()
    {
        _stream = Outbox.Open();
        Outbox.Attach(_stream);
    }

    /// <summary>Breaks the stream: what it had not written is failed (raises Disconnected).</summary>
    public void Break()
    {
        Outbox.Detach(_stream!);
        _stream = null;
    }

    /// <summary>Everything queued on the open stream now, marked written.</summary>
    public List<AgentMessage> Drain()
    {
        var written = new List<AgentMessage>();
        while (_stream!.Reader.TryRead(out var outgoing))
        {
            written.Add(outgoing.Message);
            outgoing.Written?.TrySetResult();
        }

        return written;
    }

    /// <summary>The next message queued on the open stream, marked written; the wait is bounded.</summary>
    public async Task<AgentMessage> NextAsync()
    {
        var outgoing = await _stream!.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        outgoing.Written?.TrySetResult();
        return outgoing.Message;
    }

    /// <summary>The EventSubscriptions among what is queued now.</summary>
    public List<EventSubscription> DrainSubscriptions()
        => Drain().Where(m => m.KindCase == AgentMessage.KindOneofCase.EventSubscription).Select(m => m.EventSubscription).ToList();
}
