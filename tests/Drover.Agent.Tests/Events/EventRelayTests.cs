using Drover.Agent.Events;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Agent.Tests.Events;

public class EventRelayTests
{
    private const string Channel = "function/counter";

    private readonly FakeLink _link = new();
    private readonly EventRelay _relay;

    public EventRelayTests()
    {
        _relay = new EventRelay(_link.Outbox, NullLogger<EventRelay>.Instance);
        _link.Connect();
    }

    private static ChannelEvent Numbered(ulong sequence, string channel = Channel)
        => new() { Sequence = sequence, Event = new StatusEvent { Channel = channel, CallId = $"c{sequence}", Status = RequestStatus.Completed } };

    private void Deliver(params ulong[] sequences)
    {
        foreach (var sequence in sequences)
        {
            _relay.Deliver(Numbered(sequence));
        }
    }

    [Fact]
    public void Subscribe_FirstLocalSubscriber_SubscribesOnTheLinkOnce()
    {
        using var a = _relay.Subscribe(Channel, 0, new RecordingSubscriber());
        using var b = _relay.Subscribe(Channel, 0, new RecordingSubscriber());

        var sent = Assert.Single(_link.DrainSubscriptions());
        Assert.Equal(new EventSubscription { Channel = Channel, AfterSequence = 0 }, sent);
    }

    [Fact]
    public void Reconnect_ResubscribesAfterTheLastDeliveredSequence()
    {
        var subscriber = new RecordingSubscriber();
        using var subscription = _relay.Subscribe(Channel, 0, subscriber);
        Deliver(1, 2, 3, 4, 5);
        _link.Drain();

        _link.Break();
        _link.Connect();
        Deliver(6, 7);

        Assert.Equal(new EventSubscription { Channel = Channel, AfterSequence = 5 }, Assert.Single(_link.DrainSubscriptions()));
        Assert.Equal([1UL, 2, 3, 4, 5, 6, 7], subscriber.Sequences);
    }

    [Fact]
    public void Reconnect_BeforeAnyMessage_ResumesAfterThePositionMarker()
    {
        var subscriber = new RecordingSubscriber();
        using var subscription = _relay.Subscribe(Channel, 0, subscriber);
        _relay.Deliver(new ChannelEvent { Sequence = 41, Channel = Channel });
        _link.Drain();

        _link.Break();
        _link.Connect();
        Deliver(42, 43);

        Assert.Equal(new EventSubscription { Channel = Channel, AfterSequence = 41 }, Assert.Single(_link.DrainSubscriptions()));
        Assert.Equal([42UL, 43], subscriber.Sequences);
    }

    [Fact]
    public void Deliver_DuplicatesAndOlderNumbers_DroppedEachSubscriberGetsEachOnceInOrder()
    {
        var subscriber = new RecordingSubscriber();
        using var subscription = _relay.Subscribe(Channel, 0, subscriber);

        Deliver(1, 2, 3, 2, 3, 1, 4, 4, 5);

        Assert.Equal([1UL, 2, 3, 4, 5], subscriber.Sequences);
    }

    [Fact]
    public void Subscribe_LateWithAfterSequence_AsksForAReplayAndTheFirstSubscriberDropsTheRepeats()
    {
        var first = new RecordingSubscriber();
        using var a = _relay.Subscribe(Channel, 0, first);
        Deliver(1, 2, 3, 4, 5);
        _link.Drain();

        var late = new RecordingSubscriber();
        using var b = _relay.Subscribe(Channel, 2, late);
        Deliver(3, 4, 5, 6);

        Assert.Equal(new EventSubscription { Channel = Channel, AfterSequence = 2 }, Assert.Single(_link.DrainSubscriptions()));
        Assert.Equal([1UL, 2, 3, 4, 5, 6], first.Sequences);
        Assert.Equal([3UL, 4, 5, 6], late.Sequences);
    }

    [Fact]
    public void Subscribe_LateWithoutAfterSequence_GetsOnlyNewMessages()
    {
        using var a = _relay.Subscribe(Channel, 0, new RecordingSubscriber());
        Deliver(1, 2, 3);
        _link.Drain();

        var late = new RecordingSubscriber();
        using var b = _relay.Subscribe(Channel, 0, late);
        Deliver(3, 4);

        Assert.Empty(_link.DrainSubscriptions());
        Assert.Equal([4UL], late.Sequences);
    }

    [Fact]
    public void Dispose_LastSubscriber_UnsubscribesAndLaterMessagesAreIgnored()
    {
        var a = _relay.Subscribe(Channel, 0, new RecordingSubscriber());
        var subscriber = new RecordingSubscriber();
        var b = _relay.Subscribe(Channel, 0, subscriber);
        _link.Drain();

        a.Dispose();
        Assert.Empty(_link.DrainSubscriptions());
        b.Dispose();
        Deliver(1);

        Assert.Equal(new EventSubscription { Channel = Channel, Unsubscribe = true }, Assert.Single(_link.DrainSubscriptions()));
        Assert.Empty(subscriber.Sequences);
        Assert.Empty(_relay.Channels);
    }

    [Fact]
    public void Deliver_SubscriberThatCannotKeepUp_IsDroppedAndTheOthersServed()
    {
        using var slow = _relay.Subscribe(Channel, 0, new RecordingSubscriber(capacity: 2));
        var other = new RecordingSubscriber();
        using var fast = _relay.Subscribe(Channel, 0, other);

        Deliver(1, 2, 3, 4);

        Assert.Equal([1UL, 2, 3, 4], other.Sequences);
        Assert.Equal([Channel], _relay.Channels);
    }

    [Fact]
    public void Reconnect_WithoutStream_SubscribesWhenTheNextStreamIsWelcomed()
    {
        _link.Break();
        var subscriber = new RecordingSubscriber();
        using var subscription = _relay.Subscribe(Channel, 0, subscriber);

        _link.Connect();

        Assert.Equal(new EventSubscription { Channel = Channel, AfterSequence = 0 }, Assert.Single(_link.DrainSubscriptions()));
    }

    [Fact]
    public void Reconnect_AggregatorNumbersAfresh_SubscribersFollowTheNewNumbers()
    {
        var subscriber = new RecordingSubscriber();
        using var subscription = _relay.Subscribe(Channel, 0, subscriber);
        Deliver(1, 2, 3);

        _link.Break();
        _link.Connect();
        Deliver(1, 2);

        Assert.Equal([1UL, 2, 3, 1, 2], subscriber.Sequences);
    }
}
