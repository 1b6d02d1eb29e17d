using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Link;

/// <summary>
/// One open agent stream. Everything sent to the agent goes through its bounded outboxes, drained by
/// one writer, because a gRPC response stream takes one write at a time. Survival probes go through a
/// small urgent outbox the writer drains first: behind up to <see cref="OutboxCapacity"/> restore
/// chunks of 1 MiB, a probe would otherwise look unanswered while the stream is merely busy.
/// A sender waits for room in the outbox for at most the send timeout (<c>linkSendTimeoutMs</c>): an
/// agent whose outbox stays full that long is not reading, and its stream is aborted (<see cref="Aborted"/>)
/// so that no peer holds the aggregator's senders for longer than that.
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

    /// <summary>The send timeout of connections made without one (tests): the default of <c>linkSendTimeoutMs</c>.</summary>
    public static readonly TimeSpan DefaultSendTimeout = TimeSpan.FromMilliseconds(5000);

    private readonly CancellationTokenSource _aborted = new();
    private readonly TimeSpan _sendTimeout;
    private readonly TimeProvider _time;
    private string? _abortReason;

    /// <param name="nodeId">The node the stream belongs to.</param>
    /// <param name="id">The stream's id.</param>
    /// <param name="sendTimeout">How long a sender waits for room in the outbox before the stream is aborted; <see cref="DefaultSendTimeout"/> when null.</param>
    /// <param name="time">The clock of that wait; the system clock when null.</param>
    public AgentConnection(string nodeId, Guid id, TimeSpan? sendTimeout = null, TimeProvider? time = null)
    {
        NodeId = nodeId;
        Id = id;
        _sendTimeout = sendTimeout ?? DefaultSendTimeout;
        _time = time ?? TimeProvider.System;
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

    /// <summary>Cancelled once the stream is aborted (see <see cref="Abort"/>): its owner ends the call at once, unsent messages and all.</summary>
    public CancellationToken Aborted => _aborted.Token;

    /// <summary>Why the stream was aborted; null while it was not.</summary>
    public string? AbortReason => Volatile.Read(ref _abortReason);

    /// <summary>
    /// Queues a message, waiting while the outbox is full, but no longer than the send timeout: past it
    /// the agent is not reading, and the stream is aborted. False when the stream is closed or aborted.
    /// </summary>
    public async Task<bool> SendAsync(AggregatorMessage message, CancellationToken cancellationToken)
    {
        var writer = _outbox.Writer;
        if (writer.TryWrite(message))
        {
            return true;
        }

        // One bound for the whole wait, however often another sender takes the room first.
        using var timeout = new CancellationTokenSource(_sendTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            while (await writer.WaitToWriteAsync(linked.Token))
            {
                if (writer.TryWrite(message))
                {
                    return true;
                }
            }

            return false; // Closed while waiting.
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            Abort($"its outbox stayed full ({OutboxCapacity} messages) for {_sendTimeout.TotalMilliseconds:0} ms, so it is not reading its stream");
            return false;
        }
    }

    /// <summary>
    /// Closes the outboxes and signals <see cref="Aborted"/>: the stream ends without writing what is
    /// still queued, and the node is treated as disconnected until it opens a new stream. The first
    /// reason given is kept; later calls do nothing.
    /// </summary>
    public void Abort(string reason)
    {
        if (Interlocked.CompareExchange(ref _abortReason, reason, null) is not null)
        {
            return;
        }

        Complete();
        _aborted.Cancel();
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
