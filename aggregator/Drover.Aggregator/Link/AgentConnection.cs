using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Link;

/// <summary>
/// One open agent stream. Everything sent to the agent goes through its bounded outboxes, drained by
/// one writer, because a gRPC response stream takes one write at a time. Survival probes go through a
/// small urgent outbox the writer drains first: behind up to <see cref="OutboxCapacity"/> restore
/// chunks of 1 MiB, a probe would otherwise look unanswered while the stream is merely busy.
/// </summary>
internal sealed class AgentConnection
{
    /// <summary>How many messages may wait for one agent before sends are refused.</summary>
    public const int OutboxCapacity = 256;

    /// <summary>How many urgent messages (probes, one per monitoring period) may wait.</summary>
    public const int UrgentCapacity = 16;

    private readonly Channel<AggregatorMessage> _outbox = Channel.CreateBounded<AggregatorMessage>(
        new BoundedChannelOptions(OutboxCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly Channel<AggregatorMessage> _urgent = Channel.CreateBounded<AggregatorMessage>(
        new BoundedChannelOptions(UrgentCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    public AgentConnection(string nodeId, Guid id)
    {
        NodeId = nodeId;
        Id = id;
    }

    public string NodeId { get; }

    public Guid Id { get; }

    /// <summary>The ordinary outbox, as the writer sees it (tests read it directly).</summary>
    public ChannelReader<AggregatorMessage> Outbox => _outbox.Reader;

    /// <summary>The urgent outbox: a seam for tests, which read it without a writer.</summary>
    internal ChannelReader<AggregatorMessage> UrgentOutbox => _urgent.Reader;

    /// <summary>Whether a probe reply naming another server number or port than the Hello was already logged on this stream (read loop only).</summary>
    public bool ProbeMismatchWarned { get; set; }

    /// <summary>Queues a message; false when the stream is closed or its outbox is full.</summary>
    public bool TrySend(AggregatorMessage message) => _outbox.Writer.TryWrite(message);

    /// <summary>Queues a message ahead of everything in the ordinary outbox (but never ahead of the first message, Welcome); false when the stream is closed or the urgent outbox is full.</summary>
    public bool TrySendUrgent(AggregatorMessage message) => _urgent.Writer.TryWrite(message);

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

    /// <summary>
    /// What the stream's one writer writes, in order: the first ordinary message (Welcome), then any
    /// urgent message before the next ordinary one. Ends once the stream is completed and the ordinary
    /// outbox is drained; urgent messages still waiting then are dropped.
    /// </summary>
    public async IAsyncEnumerable<AggregatorMessage> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!await _outbox.Reader.WaitToReadAsync(cancellationToken) || !_outbox.Reader.TryRead(out var welcome))
        {
            yield break;
        }

        yield return welcome;

        // One pending wait per outbox, kept across turns: a wait started each turn and abandoned when
        // the other outbox won would pile up for as long as the stream is idle.
        Task<bool>? urgentWait = null;
        Task<bool>? ordinaryWait = null;
        var urgentOpen = true;
        while (true)
        {
            if (_urgent.Reader.TryRead(out var urgent))
            {
                yield return urgent;
                continue;
            }

            if (_outbox.Reader.TryRead(out var ordinary))
            {
                yield return ordinary;
                continue;
            }

            if (_outbox.Reader.Completion.IsCompleted)
            {
                yield break;
            }

            ordinaryWait ??= _outbox.Reader.WaitToReadAsync(cancellationToken).AsTask();
            if (urgentOpen)
            {
                urgentWait ??= _urgent.Reader.WaitToReadAsync(cancellationToken).AsTask();
            }

            var woke = urgentWait is null ? ordinaryWait : await Task.WhenAny(urgentWait, ordinaryWait);
            var open = await woke; // surfaces a cancellation
            if (woke == urgentWait)
            {
                urgentWait = null;
                urgentOpen = open;
            }
            else
            {
                ordinaryWait = null;
            }
        }
    }

    public void Complete()
    {
        _outbox.Writer.TryComplete();
        _urgent.Writer.TryComplete();
    }
}
