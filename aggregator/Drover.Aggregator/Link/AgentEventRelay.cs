using Drover.Aggregator.Events;
using Drover.Protocol.Events;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Link;

/// <summary>
/// The channels one agent stream subscribed to (EventSubscription), each relayed by its own pump
/// from the <see cref="EventHub"/> to the stream's outbox. A pump waits while the outbox is full
/// rather than drop a message, but no longer than the send timeout: an agent that does not read its
/// stream has it aborted (<see cref="AgentConnection.SendAsync"/>), and resumes after the last number
/// it saw on a new one. If a pump falls so far behind that the hub ends its subscription, it
/// subscribes again after the last number it relayed, so the agent sees no gap within the history.
/// </summary>
/// <remarks>Called only from the stream's read loop; disposed when the stream ends.</remarks>
internal sealed partial class AgentEventRelay : IAsyncDisposable
{
    /// <summary>The most channels one agent may subscribe to at once.</summary>
    public const int MaxChannels = 1024;

    private readonly EventHub _hub;
    private readonly AgentConnection _connection;
    private readonly ILogger _logger;
    private readonly CancellationToken _streamDone;
    private readonly Dictionary<string, (CancellationTokenSource Stop, Task Pump)> _channels = new(StringComparer.Ordinal);

    // Pumps stopped by unsubscribe or replacement: awaited and disposed with the relay, since a pump
    // may still be unwinding on its token.
    private readonly List<(CancellationTokenSource Stop, Task Pump)> _stopped = [];

    public AgentEventRelay(EventHub hub, AgentConnection connection, ILogger logger, CancellationToken streamDone)
    {
        _hub = hub;
        _connection = connection;
        _logger = logger;
        _streamDone = streamDone;
    }

    /// <summary>
    /// Starts, restarts (a second subscription to a channel replaces the first, replaying after its
    /// own number) or stops relaying a channel. A bad subscription is logged and ignored.
    /// </summary>
    public void Handle(EventSubscription subscription)
    {
        var channel = subscription.Channel;
        if (!EventChannels.IsValid(channel))
        {
            Log.SubscriptionRefused(_logger, _connection.NodeId, Cut(channel), "expected function/<name> or service/<name>");
            return;
        }

        if (_channels.Remove(channel, out var previous))
        {
            previous.Stop.Cancel();
            _stopped.Add(previous);
        }

        if (subscription.Unsubscribe)
        {
            Log.Unsubscribed(_logger, _connection.NodeId, channel);
            return;
        }

        if (_channels.Count >= MaxChannels)
        {
            Log.SubscriptionRefused(_logger, _connection.NodeId, channel, $"the agent already subscribes to {MaxChannels} channels, the most allowed");
            return;
        }

        // 0 means only new messages: from the number the channel is at now, not when the pump starts.
        var after = subscription.AfterSequence == 0 ? _hub.LastSequence(channel) : subscription.AfterSequence;
        if (subscription.AfterSequence == 0)
        {
            // Tell the agent where "new" starts, ahead of the pump's first message (the outbox keeps
            // order), so that it can resume after this number even if no message comes before a break.
            _connection.TrySend(new AggregatorMessage { ChannelEvent = new ChannelEvent { Sequence = after, Channel = channel } });
        }

        // Off the read loop: a replay runs synchronously for as long as the outbox has room.
        var stop = CancellationTokenSource.CreateLinkedTokenSource(_streamDone);
        _channels[channel] = (stop, Task.Run(() => PumpAsync(channel, after, stop.Token), CancellationToken.None));
        Log.Subscribed(_logger, _connection.NodeId, channel, subscription.AfterSequence);
    }

    public async ValueTask DisposeAsync()
    {
        _stopped.AddRange(_channels.Values);
        _channels.Clear();
        foreach (var (stop, _) in _stopped)
        {
            await stop.CancelAsync();
        }

        await Task.WhenAll(_stopped.Select(c => c.Pump));
        foreach (var (stop, _) in _stopped)
        {
            stop.Dispose();
        }

        _stopped.Clear();
    }

    private async Task PumpAsync(string channel, ulong afterSequence, CancellationToken cancellationToken)
    {
        var last = afterSequence;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var after = new EventCursor();
                after.Advance(channel, last);
                using var subscriber = _hub.Subscribe(EventFilter.Channel(channel), after);
                await foreach (var numbered in subscriber.ReadAllAsync(cancellationToken))
                {
                    if (!await _connection.SendAsync(new AggregatorMessage { ChannelEvent = numbered }, cancellationToken))
                    {
                        return;
                    }

                    last = numbered.Sequence;
                }

                Log.RelayBehind(_logger, _connection.NodeId, channel, last, subscriber.EndReason ?? "");
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Unsubscribed, replaced, or the stream ended.
        }
    }

    private static string Cut(string value) => value.Length <= 80 ? value : value[..80] + "...";

    private static partial class Log
    {
        [LoggerMessage(EventId = 1704, EventName = "EventSubscriptionRefused", Level = LogLevel.Warning,
            Message = "An event subscription of node '{NodeId}' to channel '{Channel}' was refused: {Reason}.")]
        public static partial void SubscriptionRefused(ILogger logger, string nodeId, string channel, string reason);

        [LoggerMessage(EventId = 1705, EventName = "EventSubscribed", Level = LogLevel.Information,
            Message = "Node '{NodeId}' subscribed to channel '{Channel}' after sequence {AfterSequence}.")]
        public static partial void Subscribed(ILogger logger, string nodeId, string channel, ulong afterSequence);

        [LoggerMessage(EventId = 1706, EventName = "EventUnsubscribed", Level = LogLevel.Information,
            Message = "Node '{NodeId}' unsubscribed from channel '{Channel}'.")]
        public static partial void Unsubscribed(ILogger logger, string nodeId, string channel);

        [LoggerMessage(EventId = 1707, EventName = "EventRelayBehind", Level = LogLevel.Warning,
            Message = "Relaying channel '{Channel}' to node '{NodeId}' fell behind after sequence {Sequence} ({Reason}); subscribing again after it.")]
        public static partial void RelayBehind(ILogger logger, string nodeId, string channel, ulong sequence, string reason);
    }
}
