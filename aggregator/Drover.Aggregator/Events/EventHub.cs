using Drover.Aggregator.Configuration;
using Drover.Aggregator.State;
using Drover.Protocol.Events;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Events;

/// <summary>
/// The publish/subscribe hub of status messages. Each channel numbers its messages 1, 2, 3... with
/// no gaps (but one jump after a restart, see the remarks) and keeps the last
/// <c>eventHistoryPerChannel</c> of them, so a subscriber can resume after
/// the last number it saw. At <c>maxEventChannels</c> a message on a channel not kept yet is refused
/// (<see cref="Publish(StatusEvent)"/> returns null): dropping a kept channel to make room would lose
/// messages already numbered and kept, and reuse their numbers, which a subscriber resuming from
/// them would misread. Channels are named after defined functions, services and clusters, so the
/// limit is only met by a fleet with that many of them (or their leftovers, until a restart).
/// Fan-out never waits for a subscriber: each has a bounded buffer, and one that lets it fill is
/// ended (see <see cref="EventSubscriber"/>). At most <c>maxEventSubscribers</c> subscribers are
/// admitted through <see cref="TrySubscribe"/>.
/// </summary>
/// <remarks>
/// <para>
/// One lock covers numbering, history and fan-out, so a subscription's replay and its first live
/// message meet without a gap or a repeat. Everything under it is non-blocking: the reservations
/// below are written outside it.
/// </para>
/// <para>
/// Numbers across a restart: with a store (<see cref="IDecisionMemoryStore"/>), a channel's numbers go
/// on above every number handed out before, so a subscriber resuming with <c>after=N</c> never meets
/// N again for another message. Writing each number durably would put a synced write on every
/// message. Instead a channel reserves its numbers in blocks: once half of its block is handed out, the
/// publisher that crossed the half reserves the next <see cref="SequenceBlock"/> numbers in the store (a
/// durable write, made outside the lock, so publishers on every other channel, and on this one, go on
/// meanwhile), and a restarted hub starts each channel just above its mark. A number is never handed out
/// above the mark written: the first message of a channel after a start, or one that finds the block used up
/// before the write ahead came back (a store slower than half a block of messages), waits for its own
/// reservation, again outside the lock. What a restart costs is a jump of up to two blocks in the numbers,
/// which a resuming subscriber reads like any gap (its cursor is older than the oldest kept, so it gets
/// everything kept). A reservation that fails is logged and numbering goes on (messages are not held back
/// for the store); should the aggregator restart before a later reservation
/// succeeds, numbers of that block may be handed out again. The history itself is not kept: after a
/// restart it starts empty.
/// </para>
/// </remarks>
internal sealed partial class EventHub
{
    /// <summary>The default buffer of a subscriber: how far it may fall behind before it is ended.</summary>
    public const int DefaultSubscriberCapacity = 1024;

    /// <summary>The default of <c>maxEventSubscribers</c>.</summary>
    public const int DefaultMaxSubscribers = 256;

    /// <summary>How many numbers a channel reserves in the store at once (see the remarks).</summary>
    public const ulong SequenceBlock = 1000;

    private readonly int _historyPerChannel;
    private readonly int _maxChannels;
    private readonly int _maxSubscribers;
    private readonly ILogger<EventHub> _logger;
    private readonly IDecisionMemoryStore? _store;
    private readonly Lock _lock = new();

    // Each channel's mark reserved before this start: where its numbers go on from.
    private readonly IReadOnlyDictionary<string, ulong> _reservedBefore;

    // Recency order: the first node is the channel published to last.
    private readonly LinkedList<ChannelState> _recency = new();
    private readonly Dictionary<string, LinkedListNode<ChannelState>> _channels = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<EventSubscriber>> _byChannel = new(StringComparer.Ordinal);
    private readonly List<EventSubscriber> _allChannels = [];
    private int _subscriberCount;

    // Whether a new channel was refused since the hub last had room: the warning is logged once per spell.
    private bool _refusingChannels;

    /// <param name="options">The history, channel and subscriber limits.</param>
    /// <param name="logger">Where refusals and ended subscribers are logged.</param>
    /// <param name="store">Where each channel reserves its numbers, loaded here; null: numbers start at 1 on every start.</param>
    public EventHub(AggregatorOptions options, ILogger<EventHub> logger, IDecisionMemoryStore? store = null)
        : this(options.EventHistoryPerChannel, options.MaxEventChannels, logger, options.MaxEventSubscribers, store)
    {
    }

    internal EventHub(int historyPerChannel, int maxChannels, ILogger<EventHub> logger, int maxSubscribers = DefaultMaxSubscribers, IDecisionMemoryStore? store = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(historyPerChannel, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChannels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSubscribers, 1);
        _historyPerChannel = historyPerChannel;
        _maxChannels = maxChannels;
        _maxSubscribers = maxSubscribers;
        _logger = logger;
        _store = store;
        _reservedBefore = store?.LoadEventSequences() ?? new Dictionary<string, ulong>(StringComparer.Ordinal);
    }

    /// <summary>The most subscribers <see cref="TrySubscribe"/> admits.</summary>
    public int MaxSubscribers => _maxSubscribers;

    /// <summary>The subscribers connected now, however they subscribed.</summary>
    public int SubscriberCount
    {
        get
        {
            lock (_lock)
            {
                return _subscriberCount;
            }
        }
    }

    /// <summary>The channels kept now.</summary>
    public int ChannelCount
    {
        get
        {
            lock (_lock)
            {
                return _channels.Count;
            }
        }
    }

    /// <summary>
    /// Numbers a validated message on its channel, keeps it, and hands it to the channel's
    /// subscribers; null when the channel is new and <c>maxEventChannels</c> are kept already.
    /// </summary>
    public ChannelEvent? Publish(StatusEvent statusEvent)
        => Publish(statusEvent.Channel, sequence => new ChannelEvent { Sequence = sequence, Event = statusEvent });

    /// <summary>Numbers a cluster's health transition on its channel <c>cluster/&lt;name&gt;</c>, keeps it, and hands it out; null as for a status message.</summary>
    public ChannelEvent? Publish(ClusterHealthEvent clusterEvent)
    {
        var channel = EventChannels.Cluster(clusterEvent.Cluster);
        return Publish(channel, sequence => new ChannelEvent { Sequence = sequence, Channel = channel, ClusterHealth = clusterEvent });
    }

    /// <summary>
    /// Numbers a function's placement or scaling decision on its channel <c>decisions/&lt;function&gt;</c>,
    /// keeps it, and hands it out; <paramref name="recordJson"/> is the record as the decisions API shows it.
    /// Null as for a status message.
    /// </summary>
    public ChannelEvent? PublishDecision(string function, ReadOnlyMemory<byte> recordJson)
    {
        var channel = EventChannels.Decisions(function);
        var json = Google.Protobuf.ByteString.CopyFrom(recordJson.Span);
        return Publish(channel, sequence => new ChannelEvent { Sequence = sequence, Channel = channel, DecisionJson = json });
    }

    private ChannelEvent? Publish(string channel, Func<ulong, ChannelEvent> number)
    {
        while (true)
        {
            ChannelState? state;
            ChannelEvent? numbered = null;
            ulong reserve = 0;
            lock (_lock)
            {
                state = Touch(channel);
                if (state is null)
                {
                    if (!_refusingChannels)
                    {
                        _refusingChannels = true;
                        Log.ChannelsFull(_logger, channel, _maxChannels);
                    }
                    else
                    {
                        Log.ChannelRefused(_logger, channel, _maxChannels);
                    }

                    return null;
                }

                var next = state.LastSequence + 1;
                if (_store is not null && next > state.Reserved)
                {
                    // None reserved for this number: reserved below, outside the lock, before it is handed out.
                    reserve = next + SequenceBlock - 1;
                }
                else
                {
                    numbered = NumberLocked(state, next, number);
                    if (_store is not null && !state.ReservingAhead && state.Reserved - next < SequenceBlock / 2)
                    {
                        // Half the block is used: the next one is reserved now, so that none is waited for.
                        state.ReservingAhead = true;
                        reserve = state.Reserved + SequenceBlock;
                    }
                }
            }

            if (reserve > 0)
            {
                // Kept as reserved even when the write failed (the store logged it): the next try is at the next
                // block, not at every message while the store fails.
                _store!.ReserveEventSequences(channel, reserve);
                lock (_lock)
                {
                    state.Reserved = Math.Max(state.Reserved, reserve);
                    state.ReservingAhead &= numbered is null;
                }
            }

            if (numbered is not null)
            {
                return numbered;
            }
        }
    }

    /// <summary>Numbers the channel's next message <paramref name="next"/>, keeps it, and hands it to the subscribers.</summary>
    private ChannelEvent NumberLocked(ChannelState state, ulong next, Func<ulong, ChannelEvent> number)
    {
        List<EventSubscriber>? ended = null;
        state.LastSequence = next;
        var numbered = number(next);
        state.History.Enqueue(numbered);
        if (state.History.Count > _historyPerChannel)
        {
            state.History.Dequeue();
        }

        if (_byChannel.TryGetValue(state.Name, out var named))
        {
            FanOut(named, numbered, ref ended);
        }

        FanOut(_allChannels, numbered, ref ended);
        if (ended is not null)
        {
            foreach (var subscriber in ended)
            {
                RemoveLocked(subscriber);
                Log.SubscriberEnded(_logger, state.Name, numbered.Sequence, subscriber.EndReason ?? "");
            }
        }

        return numbered;
    }

    /// <summary>
    /// Subscribes to the channels of <paramref name="filter"/>. Without <paramref name="after"/> only
    /// new messages come. With it, each channel it names is replayed from the history after its number
    /// (from the oldest kept when that number is older), and each channel the filter names that it does
    /// not is replayed from the oldest kept; a channel named by neither gets only new messages.
    /// </summary>
    public EventSubscriber Subscribe(EventFilter filter, EventCursor? after = null, int capacity = DefaultSubscriberCapacity)
    {
        lock (_lock)
        {
            return SubscribeLocked(filter, after, capacity);
        }
    }

    /// <summary>
    /// <see cref="Subscribe"/> for a peer that asks (<c>GET /v1/events</c>): null when
    /// <see cref="MaxSubscribers"/> subscribers are connected already. Every subscriber counts
    /// towards the limit, the agents' relays included; only this way of subscribing is refused.
    /// </summary>
    public EventSubscriber? TrySubscribe(EventFilter filter, EventCursor? after = null, int capacity = DefaultSubscriberCapacity)
    {
        lock (_lock)
        {
            if (_subscriberCount >= _maxSubscribers)
            {
                Log.SubscriberRefused(_logger, _maxSubscribers);
                return null;
            }

            return SubscribeLocked(filter, after, capacity);
        }
    }

    private EventSubscriber SubscribeLocked(EventFilter filter, EventCursor? after, int capacity)
    {
        var replay = new List<ChannelEvent>();
        if (after is not null)
        {
            var channels = filter.Channels ?? after.Positions.Select(p => p.Key).ToList();
            foreach (var channel in channels.Distinct(StringComparer.Ordinal))
            {
                if (_channels.TryGetValue(channel, out var node))
                {
                    Replay(node.Value, after.Get(channel) ?? 0, filter, replay);
                }
            }
        }

        var subscriber = new EventSubscriber(this, filter, replay, capacity);
        if (filter.Channels is null)
        {
            _allChannels.Add(subscriber);
        }
        else
        {
            foreach (var channel in filter.Channels.Distinct(StringComparer.Ordinal))
            {
                if (!_byChannel.TryGetValue(channel, out var list))
                {
                    _byChannel[channel] = list = [];
                }

                list.Add(subscriber);
            }
        }

        subscriber.Registered = true;
        _subscriberCount++;
        return subscriber;
    }

    /// <summary>
    /// The last number given on <paramref name="channel"/>: for a channel not used since the start, the
    /// mark it reserved before (no number above it was given); 0 for a channel never used.
    /// </summary>
    public ulong LastSequence(string channel)
    {
        lock (_lock)
        {
            return _channels.TryGetValue(channel, out var node) ? node.Value.LastSequence : _reservedBefore.GetValueOrDefault(channel);
        }
    }

    internal void Unsubscribe(EventSubscriber subscriber)
    {
        lock (_lock)
        {
            RemoveLocked(subscriber);
        }
    }

    private static void Replay(ChannelState state, ulong after, EventFilter filter, List<ChannelEvent> into)
    {
        // Sequences in the history are consecutive, so the first to replay is found by arithmetic.
        var oldest = state.History.Count == 0 ? state.LastSequence + 1 : state.History.Peek().Sequence;
        // A number past the channel's last is from an earlier numbering (the aggregator restarted, or
        // forgot the channel): everything kept is new to that subscriber.
        var skip = after < oldest || after > state.LastSequence ? 0 : (int)Math.Min(after - oldest + 1, (ulong)state.History.Count);
        into.AddRange(state.History.Skip(skip).Where(e => filter.MatchesCallId(EventChannels.CallIdOf(e))));
    }

    private static void FanOut(List<EventSubscriber> subscribers, ChannelEvent numbered, ref List<EventSubscriber>? ended)
    {
        foreach (var subscriber in subscribers)
        {
            if (subscriber.Filter.MatchesCallId(EventChannels.CallIdOf(numbered)) && !subscriber.TryDeliver(numbered))
            {
                (ended ??= []).Add(subscriber);
            }
        }
    }

    /// <summary>The channel's state, made when new; null when it is new and the hub keeps its most channels.</summary>
    private ChannelState? Touch(string channel)
    {
        if (_channels.TryGetValue(channel, out var node))
        {
            _recency.Remove(node);
            _recency.AddFirst(node);
            return node.Value;
        }

        if (_channels.Count >= _maxChannels)
        {
            return null;
        }

        var before = _reservedBefore.GetValueOrDefault(channel);
        node = _recency.AddFirst(new ChannelState(channel) { LastSequence = before, Reserved = before });
        _channels[channel] = node;
        return node.Value;
    }

    private void RemoveLocked(EventSubscriber subscriber)
    {
        // Ended by the hub, then disposed by its reader: counted out once.
        if (!subscriber.Registered)
        {
            return;
        }

        subscriber.Registered = false;
        _subscriberCount--;
        if (subscriber.Filter.Channels is null)
        {
            _allChannels.Remove(subscriber);
            return;
        }

        foreach (var channel in subscriber.Filter.Channels)
        {
            if (_byChannel.TryGetValue(channel, out var list) && list.Remove(subscriber) && list.Count == 0)
            {
                _byChannel.Remove(channel);
            }
        }
    }

    private sealed class ChannelState(string name)
    {
        public string Name { get; } = name;

        public ulong LastSequence { get; set; }

        /// <summary>The highest number reserved in the store; numbers up to it may be handed out.</summary>
        public ulong Reserved { get; set; }

        /// <summary>Whether the next block is being reserved, ahead of its first number.</summary>
        public bool ReservingAhead { get; set; }

        public Queue<ChannelEvent> History { get; } = new();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1701, EventName = "EventSubscriberEnded", Level = LogLevel.Warning,
            Message = "An event subscriber was ended at '{Channel}' sequence {Sequence}: {Reason}; it may resume from its last number.")]
        public static partial void SubscriberEnded(ILogger logger, string channel, ulong sequence, string reason);

        [LoggerMessage(EventId = 1708, EventName = "EventChannelsFull", Level = LogLevel.Warning,
            Message = "A message on the new event channel '{Channel}' was refused: {MaxChannels} channels are kept, the most allowed (maxEventChannels); messages on new channels are refused until the aggregator restarts with a higher limit.")]
        public static partial void ChannelsFull(ILogger logger, string channel, int maxChannels);

        [LoggerMessage(EventId = 1709, EventName = "EventChannelRefused", Level = LogLevel.Debug,
            Message = "A message on the new event channel '{Channel}' was refused: {MaxChannels} channels are kept.")]
        public static partial void ChannelRefused(ILogger logger, string channel, int maxChannels);

        [LoggerMessage(EventId = 1710, EventName = "EventSubscriberRefused", Level = LogLevel.Warning,
            Message = "An event subscriber was refused: {MaxSubscribers} subscribers are connected, the most allowed (maxEventSubscribers).")]
        public static partial void SubscriberRefused(ILogger logger, int maxSubscribers);
    }
}
