using System.Threading.Channels;
using Drover.Protocol.Events;
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

    /// <summary>How many urgent messages (probe replies) may wait before they queue with the rest.</summary>
    public const int UrgentCapacity = 16;

    private volatile Channel<OutgoingMessage>? _current;
    private volatile Channel<OutgoingMessage>? _urgent;
    private long _connects;
    private long _refused;

    /// <summary>Raised (on the link's thread) once a new stream is welcomed: features resend what the aggregator must know.</summary>
    public event Action? Connected;

    /// <summary>Raised when the stream ends: what waits for an answer on it will get none.</summary>
    public event Action? Disconnected;

    public bool IsConnected => _current is not null;

    /// <summary>Streams welcomed since the agent started (the first connection and every reconnection).</summary>
    public long Connects => Interlocked.Read(ref _connects);

    /// <summary>Messages refused since the agent started because the open stream's outbox was full.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Messages waiting for the open stream now; 0 with none open.</summary>
    public int Waiting => _current?.Reader.Count ?? 0;

    /// <summary>Queues a message for the open stream; false (nothing queued) while none is open or the outbox is full.</summary>
    public bool TrySend(AgentMessage message) => TrySend(new OutgoingMessage(message, null));

    internal bool TrySend(OutgoingMessage message)
    {
        var current = _current;
        if (current is null)
        {
            return false;
        }

        if (current.Writer.TryWrite(message))
        {
            return true;
        }

        Interlocked.Increment(ref _refused);
        return false;
    }

    /// <summary>
    /// Queues a message the stream writes before anything queued with <see cref="TrySend(AgentMessage)"/>
    /// (a probe's answer is a round-trip measurement: it must not wait behind status messages or a
    /// snapshot chunk). With no urgent lane on the open stream, or a full one, it queues with the rest.
    /// </summary>
    public bool TrySendUrgent(AgentMessage message)
    {
        var urgent = _urgent;
        return (_current is not null && urgent is not null && urgent.Writer.TryWrite(new OutgoingMessage(message, null))) || TrySend(message);
    }

    /// <summary>A fresh outbox for a new stream; messages queued for a broken stream are not replayed.</summary>
    /// <remarks>Wait mode, so that TryWrite on a full outbox answers false rather than dropping silently.</remarks>
    internal Channel<OutgoingMessage> Open() => Channel.CreateBounded<OutgoingMessage>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    /// <summary>The urgent lane of a new stream (see <see cref="TrySendUrgent"/>); small, and never waited on.</summary>
    internal static Channel<OutgoingMessage> OpenUrgent() => Channel.CreateBounded<OutgoingMessage>(
        new BoundedChannelOptions(UrgentCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    /// <param name="outbox">The stream's outbox.</param>
    /// <param name="urgent">Its urgent lane, which the stream's writer drains first; null for none (urgent messages then queue with the rest).</param>
    internal void Attach(Channel<OutgoingMessage> outbox, Channel<OutgoingMessage>? urgent = null)
    {
        _urgent = urgent;
        _current = outbox;
        Interlocked.Increment(ref _connects);
        Connected?.Invoke();
    }

    internal void Detach(Channel<OutgoingMessage> outbox)
    {
        if (Interlocked.CompareExchange(ref _current, null, outbox) == outbox)
        {
            Interlocked.Exchange(ref _urgent, null)?.Writer.TryComplete();
        }

        outbox.Writer.TryComplete();

        // What was queued for the broken stream will never be written: say so to whoever waits.
        while (outbox.Reader.TryRead(out var abandoned))
        {
            abandoned.Written?.TrySetException(new IOException("the stream to the aggregator ended before the message was sent"));
        }

        Disconnected?.Invoke();
    }

    /// <summary>
    /// What the stream's one writer writes: anything on the urgent lane first, then the outbox in
    /// order. Ends once the outbox is completed and drained (urgent messages left then are dropped).
    /// With <paramref name="batchStatusEvents"/> (the aggregator's Welcome accepts them), status messages
    /// queued one after another go as one <see cref="StatusEvents"/>: they pile up only while the writer
    /// is busy, so a lone one is never held back, and under load three per request become one message.
    /// </summary>
    internal static async IAsyncEnumerable<OutgoingMessage> ReadInOrderAsync(
        ChannelReader<OutgoingMessage> outbox,
        ChannelReader<OutgoingMessage> urgent,
        bool batchStatusEvents,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // One pending wait per lane, kept across turns: a wait started each turn and abandoned when
        // the other lane won would pile up for as long as the stream is idle.
        Task<bool>? urgentWait = null;
        Task<bool>? outboxWait = null;
        var urgentOpen = true;
        while (true)
        {
            if (urgent.TryRead(out var first))
            {
                yield return first;
                continue;
            }

            if (outbox.TryRead(out var next))
            {
                yield return batchStatusEvents ? Coalesce(next, outbox) : next;
                continue;
            }

            if (outbox.Completion.IsCompleted)
            {
                yield break;
            }

            outboxWait ??= outbox.WaitToReadAsync(cancellationToken).AsTask();
            if (urgentOpen)
            {
                urgentWait ??= urgent.WaitToReadAsync(cancellationToken).AsTask();
            }

            var woke = urgentWait is null ? outboxWait : await Task.WhenAny(urgentWait, outboxWait);
            var open = await woke; // surfaces a cancellation
            if (woke == urgentWait)
            {
                urgentWait = null;
                urgentOpen = open;
            }
            else
            {
                outboxWait = null;
            }
        }
    }

    /// <summary>
    /// <paramref name="first"/>, or, when it is a status message and the next ones queued are too, all of them
    /// (up to <see cref="EventChannels.MaxEventsPerMessage"/>) in one message, written when it is.
    /// </summary>
    private static OutgoingMessage Coalesce(OutgoingMessage first, ChannelReader<OutgoingMessage> outbox)
    {
        if (first.Message.KindCase != AgentMessage.KindOneofCase.StatusEvent
            || !outbox.TryPeek(out var second) || second.Message.KindCase != AgentMessage.KindOneofCase.StatusEvent)
        {
            return first;
        }

        var batch = new StatusEvents();
        var written = new List<TaskCompletionSource>();
        void Add(OutgoingMessage message)
        {
            batch.Events.Add(message.Message.StatusEvent);
            if (message.Written is { } signal)
            {
                written.Add(signal);
            }
        }

        Add(first);
        while (batch.Events.Count < EventChannels.MaxEventsPerMessage
            && outbox.TryPeek(out var queued) && queued.Message.KindCase == AgentMessage.KindOneofCase.StatusEvent
            && outbox.TryRead(out var taken))
        {
            Add(taken);
        }

        return new OutgoingMessage(new AgentMessage { StatusEvents = batch }, null, written);
    }

    /// <summary>The open stream's outbox, for the link's clean stop.</summary>
    internal Channel<OutgoingMessage>? Current => _current;
}

/// <summary>
/// A message for the aggregator, with an optional signal for when it was written to the stream (several, for the
/// messages a batch carries: <see cref="AllWritten"/>).
/// </summary>
internal sealed record OutgoingMessage(AgentMessage Message, TaskCompletionSource? Written, IReadOnlyList<TaskCompletionSource>? WrittenInBatch = null)
{
    /// <summary>Every signal to give once the message is written (or has failed).</summary>
    public IEnumerable<TaskCompletionSource> AllWritten => Written is null ? WrittenInBatch ?? [] : [Written, .. WrittenInBatch ?? []];
}
