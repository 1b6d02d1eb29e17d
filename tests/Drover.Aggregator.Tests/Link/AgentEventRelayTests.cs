using Drover.Aggregator.Events;
using Drover.Aggregator.Link;
using Drover.Aggregator.Tests.Events;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Aggregator.Tests.Link;

public sealed class AgentEventRelayTests
{
    private const string Channel = "function/counter";
    private static readonly TimeSpan Timeout = TestAggregator.Timeout;

    private readonly EventHub _hub = new(historyPerChannel: 100_000, maxChannels: 10, NullLogger<EventHub>.Instance);
    private readonly AgentConnection _connection = new("node-b", Guid.NewGuid());

    private async Task<List<ulong>> ReceiveAsync(int count)
    {
        var sequences = new List<ulong>();
        while (sequences.Count < count)
        {
            var message = await _connection.Outbox.ReadAsync().AsTask().WaitAsync(Timeout);
            sequences.Add(message.ChannelEvent.Sequence);
        }

        return sequences;
    }

    [Fact]
    public async Task Handle_AgentFarBehind_RelayResubscribesAfterItsLastNumberWithoutGap()
    {
        using var done = new CancellationTokenSource();
        await using var relay = new AgentEventRelay(_hub, _connection, NullLogger.Instance, done.Token);
        _hub.Publish(EventHubTests.Event(Channel));
        relay.Handle(new EventSubscription { Channel = Channel, AfterSequence = 0 });
        _hub.Publish(EventHubTests.Event(Channel));

        // "Only new": first a position marker (the number the channel was at), then the new message.
        var marker = await _connection.Outbox.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal(new ChannelEvent { Sequence = 1, Channel = Channel }, marker.ChannelEvent);
        Assert.Equal([2UL], await ReceiveAsync(1));

        // The relay's subscription is live. More than the agent's outbox and the hub's buffer
        // together: the hub ends that subscription while the relay waits for the outbox.
        var published = AgentConnection.OutboxCapacity + EventHub.DefaultSubscriberCapacity + 500;
        for (var i = 0; i < published; i++)
        {
            _hub.Publish(EventHubTests.Event(Channel, $"c{i}"));
        }

        var received = await ReceiveAsync(published);

        Assert.Equal(Enumerable.Range(3, published).Select(n => (ulong)n), received);
    }

    [Fact]
    public async Task Handle_SecondSubscriptionAndUnsubscribe_ReplaysAfterTheNewNumberThenStops()
    {
        using var done = new CancellationTokenSource();
        await using var relay = new AgentEventRelay(_hub, _connection, NullLogger.Instance, done.Token);
        for (var i = 0; i < 5; i++)
        {
            _hub.Publish(EventHubTests.Event(Channel));
        }

        relay.Handle(new EventSubscription { Channel = Channel, AfterSequence = 3 });
        var first = await ReceiveAsync(2);
        relay.Handle(new EventSubscription { Channel = Channel, AfterSequence = 1 });
        var replayed = await ReceiveAsync(4);
        relay.Handle(new EventSubscription { Channel = Channel, Unsubscribe = true });
        relay.Handle(new EventSubscription { Channel = "function/Bad", AfterSequence = 1 });
        _hub.Publish(EventHubTests.Event(Channel));
        relay.Handle(new EventSubscription { Channel = "function/other" });
        _hub.Publish(EventHubTests.Event("function/other"));
        var after = await ReceiveAsync(2);

        Assert.Equal([4UL, 5], first);
        Assert.Equal([2UL, 3, 4, 5], replayed);

        // Nothing of the unsubscribed channel (its 6), nor of the refused one: the next is the other channel's.
        Assert.Equal([0UL, 1], after);
        Assert.False(_connection.Outbox.TryRead(out _));
    }
}
