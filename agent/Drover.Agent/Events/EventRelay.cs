using Drover.Agent.Link;
using Drover.Protocol.V1;

namespace Drover.Agent.Events;

/// <summary>
/// Relays channels from the aggregator to the local subscribers (instances) of this node. The first
/// local subscriber of a channel makes the agent subscribe on the link, the last one leaving
/// unsubscribes; on every new stream the agent subscribes again after the lowest number its
/// subscribers of the channel have, so a stream break loses nothing the aggregator still keeps.
/// Each subscriber gets each sequence once, in order: numbers at or below its last are dropped.
/// </summary>
/// <remarks>
/// A second subscription to a channel on the same stream replaces the first on the aggregator,
/// which replays after the new number; the subscribers that already had those numbers drop them.
/// </remarks>
internal sealed partial class EventRelay : IEventSubscriptions
{
    private readonly AgentOutbox _outbox;
    private readonly ILogger<EventRelay> _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ChannelState> _channels = new(StringComparer.Ordinal);

    public EventRelay(AgentOutbox outbox, ILogger<EventRelay> logger)
    {
        _outbox = outbox;
        _logger = logger;
        outbox.Connected += OnConnected;
    }

    /// <summary>The channels with at least one local subscriber.</summary>
    public IReadOnlyCollection<string> Channels
    {
        get
        {
            lock (_lock)
            {
                return _channels.Keys.ToArray();
            }
        }
    }

    public IDisposable Subscribe(string channel, ulong afterSequence, IEventSubscriber subscriber)
    {
        lock (_lock)
        {
            var first = !_channels.TryGetValue(channel, out var state);
            state ??= _channels[channel] = new ChannelState(channel);

            // Asking for nothing old: from the number the channel is at, not from the first.
            var subscription = new Subscription(this, state, subscriber, afterSequence > 0 ? afterSequence : state.Last);
            state.Subscribers.Add(subscription);
            if (first || (afterSequence > 0 && (state.Last == 0 || afterSequence < state.Last)))
            {
                // A replay the aggregator starts now is not a restart of its numbering.
                state.ResumedAfter = null;
                SendSubscription(channel, afterSequence, unsubscribe: false);
            }

            return subscription;
        }
    }

    /// <summary>Called by the link's read loop for every ChannelEvent; never blocks.</summary>
    public void Deliver(ChannelEvent channelEvent)
    {
        var channel = channelEvent.Event?.Channel ?? channelEvent.Channel;
        var sequence = channelEvent.Sequence;
        lock (_lock)
        {
            if (!_channels.TryGetValue(channel, out var state))
            {
                // Unsubscribed while the message travelled.
                return;
            }

            if (channelEvent.Event is null)
            {
                // A position marker: the number "only new" started from. Nothing to deliver, but a
                // stream break before the first message resumes after it rather than from "new" again.
                // Subscribers that asked for older numbers are behind it and keep their own.
                foreach (var subscription in state.Subscribers.Where(s => s.Last == 0))
                {
                    subscription.Last = sequence;
                }

                state.Last = Math.Max(state.Last, sequence);
                return;
            }

            if (state.ResumedAfter is { } resumedAfter)
            {
                state.ResumedAfter = null;
                if (sequence <= resumedAfter)
                {
                    // The aggregator replays only what follows the number asked for: a lower one
                    // means it numbers the channel afresh (it restarted, or forgot the channel).
                    Log.NumberingRestarted(_logger, channel, resumedAfter, sequence);
                    state.Last = sequence - 1;
                    foreach (var subscription in state.Subscribers)
                    {
                        subscription.Last = sequence - 1;
                    }
                }
            }

            state.Last = Math.Max(state.Last, sequence);

            // A copy: a subscriber that cannot keep up is removed while the others are served.
            foreach (var subscription in state.Subscribers.ToArray())
            {
                if (sequence <= subscription.Last)
                {
                    continue;
                }

                if (subscription.Subscriber.TryDeliver(channelEvent))
                {
                    subscription.Last = sequence;
                    continue;
                }

                Log.SubscriberBehind(_logger, channel, sequence);
                RemoveLocked(subscription);
            }
        }
    }

    private void OnConnected()
    {
        lock (_lock)
        {
            foreach (var state in _channels.Values)
            {
                var after = state.Subscribers.Min(s => s.Last);
                state.ResumedAfter = after;
                SendSubscription(state.Channel, after, unsubscribe: false);
            }
        }
    }

    private void RemoveLocked(Subscription subscription)
    {
        var state = subscription.State;
        if (!state.Subscribers.Remove(subscription) || state.Subscribers.Count > 0)
        {
            return;
        }

        _channels.Remove(state.Channel);
        SendSubscription(state.Channel, 0, unsubscribe: true);
    }

    private void SendSubscription(string channel, ulong afterSequence, bool unsubscribe)
    {
        // Without a stream the next one subscribes again (OnConnected), and an unsubscribe is moot.
        if (_outbox.IsConnected
            && !_outbox.TrySend(new AgentMessage { EventSubscription = new EventSubscription { Channel = channel, AfterSequence = afterSequence, Unsubscribe = unsubscribe } }))
        {
            Log.SubscriptionNotSent(_logger, channel, unsubscribe);
        }
    }

    private sealed class ChannelState(string channel)
    {
        public string Channel { get; } = channel;

        /// <summary>The highest number received on the channel.</summary>
        public ulong Last { get; set; }

        /// <summary>Set when a new stream resumed the channel after this number, until its first message.</summary>
        public ulong? ResumedAfter { get; set; }

        public List<Subscription> Subscribers { get; } = [];
    }

    private sealed class Subscription(EventRelay relay, ChannelState state, IEventSubscriber subscriber, ulong last) : IDisposable
    {
        public ChannelState State { get; } = state;

        public IEventSubscriber Subscriber { get; } = subscriber;

        /// <summary>The last number delivered to (or skipped for) this subscriber.</summary>
        public ulong Last { get; set; } = last;

        public void Dispose()
        {
            lock (relay._lock)
            {
                relay.RemoveLocked(this);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3102, EventName = "EventSubscriberBehind", Level = LogLevel.Warning,
            Message = "A local subscriber of channel '{Channel}' could not keep up at sequence {Sequence} and was dropped.")]
        public static partial void SubscriberBehind(ILogger logger, string channel, ulong sequence);

        [LoggerMessage(EventId = 3103, EventName = "EventSubscriptionNotSent", Level = LogLevel.Warning,
            Message = "The subscription change for channel '{Channel}' (unsubscribe: {Unsubscribe}) could not be queued for the aggregator; the next stream subscribes again.")]
        public static partial void SubscriptionNotSent(ILogger logger, string channel, bool unsubscribe);

        [LoggerMessage(EventId = 3104, EventName = "EventNumberingRestarted", Level = LogLevel.Warning,
            Message = "Channel '{Channel}' was resumed after sequence {ResumedAfter} but the aggregator sent {Sequence}: it numbers the channel afresh, and subscribers follow.")]
        public static partial void NumberingRestarted(ILogger logger, string channel, ulong resumedAfter, ulong sequence);
    }
}
