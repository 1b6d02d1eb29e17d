using System.Threading.Channels;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Link;

/// <summary>
/// One open agent stream. Everything sent to the agent goes through its bounded outbox, drained by
/// one writer, because a gRPC response stream takes one write at a time.
/// </summary>
internal sealed class AgentConnection
{
    /// <summary>How many messages may wait for one agent before sends are refused.</summary>
    public const int OutboxCapacity = 256;

    private readonly Channel<AggregatorMessage> _outbox = Channel.CreateBounded<AggregatorMessage>(
        new BoundedChannelOptions(OutboxCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    public AgentConnection(string nodeId, Guid id)
    {
        NodeId = nodeId;
        Id = id;
    }

    public string NodeId { get; }

    public Guid Id { get; }

    public ChannelReader<AggregatorMessage> Outbox => _outbox.Reader;

    /// <summary>Whether a probe reply naming another server number or port than the Hello was already logged on this stream (read loop only).</summary>
    public bool ProbeMismatchWarned { get; set; }

    /// <summary>Queues a message; false when the stream is closed or its outbox is full.</summary>
    public bool TrySend(AggregatorMessage message) => _outbox.Writer.TryWrite(message);

    /// <summary>Queues a message, waiting while the outbox is full; false when the stream closed.</summary>
    public async Task<bool> SendAsync(AggregatorMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await _outbox.Writer.WriteAsync(message, cancellationToken);
            return true;
        }
        catch (ChannelClosedException)
        {
            return false;
        }
    }

    public void Complete() => _outbox.Writer.TryComplete();
}
