using Drover.Aggregator.Events;
using Drover.Aggregator.State;
using Drover.Aggregator.Tests.State;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Aggregator.Tests.Events;

public class EventHubTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    internal static StatusEvent Event(string channel, string callId = "call-1", RequestStatus status = RequestStatus.Accepted)
        => new() { Channel = channel, CallId = callId, Status = status, Method = "POST", Path = "/" };

    private static EventHub Hub(int history = 100, int channels = 100) => new(history, channels, NullLogger<EventHub>.Instance);

    private static EventCursor After(string channel, ulong sequence)
    {
        var cursor = new EventCursor();
        cursor.Advance(channel, sequence);
        return cursor;
    }

    /// <summary>The next <paramref name="count"/> messages, each await bounded.</summary>
    internal static async Task<List<ChannelEvent>> TakeAsync(EventSubscriber subscriber, int count)
    {
        var taken = new List<ChannelEvent>();
        await using var messages = subscriber.ReadAllAsync(CancellationToken.None).GetAsyncEnumerator();
        while (taken.Count < count && await messages.MoveNextAsync().AsTask().WaitAsync(Timeout))
        {
            taken.Add(messages.Current);
        }

        return taken;
    }

    [Fact]
    public void Publish_InterleavedChannels_EachNumbersFromOneWithoutGaps()
    {
        var hub = Hub();
        var numbers = new Dictionary<string, List<ulong>>();
        var random = new Random(7);
        for (var i = 0; i < 500; i++)
        {
            var channel = random.Next(3) switch { 0 => "function/a", 1 => "function/b", _ => "service/a" };
            var numbered = hub.Publish(Event(channel))!;
            Assert.Equal(channel, numbered.Event.Channel);
            (numbers.TryGetValue(channel, out var list) ? list : numbers[channel] = []).Add(numbered.Sequence);
        }

        Assert.Equal(3, numbers.Count);
        foreach (var (channel, list) in numbers)
        {
            Assert.Equal(Enumerable.Range(1, list.Count).Select(n => (ulong)n), list);
            Assert.Equal((ulong)list.Count, hub.LastSequence(channel));
        }
    }

    [Fact]
    public async Task Subscribe_AfterNumber_ReplaysTheRestThenLiveWithoutGapOrRepeat()
    {
        var hub = Hub();
        for (var i = 0; i < 10; i++)
        {
            hub.Publish(Event("function/a"));
            hub.Publish(Event("function/b"));
        }

        using var subscriber = hub.Subscribe(EventFilter.Channel("function/a"), After("function/a", 7));
        hub.Publish(Event("function/a"));
        hub.Publish(Event("function/b"));

        var got = await TakeAsync(subscriber, 4);

        Assert.Equal([8UL, 9, 10, 11], got.Select(e => e.Sequence));
        Assert.All(got, e => Assert.Equal("function/a", e.Event.Channel));
    }

    [Fact]
    public async Task Subscribe_WithoutCursor_OnlyNewMessages()
    {
        var hub = Hub();
        hub.Publish(Event("function/a"));
        using var subscriber = hub.Subscribe(EventFilter.AllChannels);
        hub.Publish(Event("service/web"));
        hub.Publish(Event("function/a"));

        var got = await TakeAsync(subscriber, 2);

        Assert.Equal([("service/web", 1UL), ("function/a", 2UL)], got.Select(e => (e.Event.Channel, e.Sequence)));
    }

    [Fact]
    public async Task Subscribe_AfterNumberOlderThanHistory_StartsAtOldestKept()
    {
        var hub = Hub(history: 5);
        for (var i = 0; i < 12; i++)
        {
            hub.Publish(Event("function/a"));
        }

        using var subscriber = hub.Subscribe(EventFilter.Channel("function/a"), After("function/a", 2));
        var got = await TakeAsync(subscriber, 5);

        // The subscriber sees the gap: 3 to 7 were forgotten.
        Assert.Equal([8UL, 9, 10, 11, 12], got.Select(e => e.Sequence));
    }

    [Fact]
    public async Task Subscribe_NamedChannelAbsentFromCursor_ReplaysFromOldestKept()
    {
        var hub = Hub(history: 3);
        for (var i = 0; i < 4; i++)
        {
            hub.Publish(Event("function/a"));
        }

        using var subscriber = hub.Subscribe(EventFilter.Channel("function/a"), new EventCursor());
        var got = await TakeAsync(subscriber, 3);

        Assert.Equal([2UL, 3, 4], got.Select(e => e.Sequence));
    }

    [Fact]
    public async Task Subscribe_CallIdFilter_ReceivesOnlyThatCall()
    {
        var hub = Hub();
        hub.Publish(Event("function/a", "x"));
        hub.Publish(Event("function/a", "y"));
        using var subscriber = hub.Subscribe(new EventFilter(null, "y"), After("function/a", 0));
        hub.Publish(Event("function/a", "y", RequestStatus.Completed));
        hub.Publish(Event("function/b", "x"));
        hub.Publish(Event("function/b", "y"));

        var got = await TakeAsync(subscriber, 3);

        Assert.Equal([("function/a", 2UL), ("function/a", 3UL), ("function/b", 2UL)], got.Select(e => (e.Event.Channel, e.Sequence)));
    }

    [Fact]
    public void Publish_NewChannelBeyondMaxChannels_IsRefusedAndKeptChannelsLoseNothing()
    {
        var hub = Hub(channels: 2);
        hub.Publish(Event("function/a"));
        hub.Publish(Event("function/b"));

        var refused = hub.Publish(Event("function/c"));
        var again = hub.Publish(Event("function/c"));
        var kept = hub.Publish(Event("function/a"));

        Assert.Null(refused);
        Assert.Null(again);
        Assert.Equal(2, hub.ChannelCount);
        Assert.Equal(0UL, hub.LastSequence("function/c"));
        Assert.Equal(1UL, hub.LastSequence("function/b"));
        Assert.Equal(2UL, kept!.Sequence);
    }

    [Fact]
    public async Task Publish_NewChannelBeyondMaxChannels_KeptHistoryStillReplays()
    {
        var hub = Hub(channels: 1);
        hub.Publish(Event("function/a", "x"));
        hub.Publish(Event("function/b", "y"));

        using var subscriber = hub.Subscribe(EventFilter.Channel("function/a"), new EventCursor());

        Assert.Equal([("function/a", 1UL)], (await TakeAsync(subscriber, 1)).Select(e => (e.Event.Channel, e.Sequence)));
    }

    [Theory]
    [InlineData(1, 0, true)]
    [InlineData(1, 1, false)]
    [InlineData(3, 2, true)]
    [InlineData(3, 3, false)]
    public void TrySubscribe_AgainstMaxSubscribers_AdmitsOnlyBelowTheLimit(int max, int connected, bool admitted)
    {
        var hub = new EventHub(100, 100, NullLogger<EventHub>.Instance, max);
        var held = Enumerable.Range(0, connected).Select(_ => hub.Subscribe(EventFilter.AllChannels)).ToList();

        using var subscriber = hub.TrySubscribe(EventFilter.Channel("function/a"));

        Assert.Equal(admitted, subscriber is not null);
        Assert.Equal(connected + (admitted ? 1 : 0), hub.SubscriberCount);
        held.ForEach(h => h.Dispose());
    }

    [Fact]
    public void TrySubscribe_AfterSubscribersEndedAndDisposed_CountsEachOutOnce()
    {
        var hub = new EventHub(100, 100, NullLogger<EventHub>.Instance, maxSubscribers: 2);
        var slow = hub.TrySubscribe(EventFilter.Channel("function/a"), capacity: 1)!;
        var other = hub.TrySubscribe(new EventFilter(["function/a", "function/b"], null))!;
        Assert.Null(hub.TrySubscribe(EventFilter.AllChannels));

        // The hub ends the slow one (its buffer is full); its reader disposes it later, as EventsApi does.
        hub.Publish(Event("function/a"));
        hub.Publish(Event("function/a"));
        Assert.NotNull(slow.EndReason);
        Assert.Equal(1, hub.SubscriberCount);
        slow.Dispose();
        other.Dispose();
        other.Dispose();

        Assert.Equal(0, hub.SubscriberCount);
        using var third = hub.TrySubscribe(EventFilter.AllChannels);
        using var fourth = hub.TrySubscribe(EventFilter.AllChannels);
        Assert.NotNull(third);
        Assert.NotNull(fourth);
    }

    [Fact]
    public async Task Publish_SubscriberBehindItsBuffer_IsEndedWithAReasonNotSkipped()
    {
        var hub = Hub();
        using var slow = hub.Subscribe(EventFilter.Channel("function/a"), capacity: 2);
        using var other = hub.Subscribe(EventFilter.Channel("function/a"), capacity: 10);
        for (var i = 0; i < 5; i++)
        {
            hub.Publish(Event("function/a"));
        }

        var got = await TakeAsync(slow, 10);

        // It got what its buffer held, then its enumeration ended: never 1, 2, 5.
        Assert.Equal([1UL, 2], got.Select(e => e.Sequence));
        Assert.NotNull(slow.EndReason);
        Assert.Null(other.EndReason);
        Assert.Equal(5, (await TakeAsync(other, 5)).Count);
    }

    [Fact]
    public async Task Dispose_Subscriber_ReceivesNothingMore()
    {
        var hub = Hub();
        var subscriber = hub.Subscribe(EventFilter.Channel("function/a"), capacity: 1);
        subscriber.Dispose();
        hub.Publish(Event("function/a"));
        hub.Publish(Event("function/a"));

        Assert.Empty(await TakeAsync(subscriber, 1));
        Assert.Null(subscriber.EndReason);
    }

    [Fact]
    public void Publish_HubAgainOnTheSameStore_NumbersGoOnAboveTheReservedMark()
    {
        using var directory = new TempDirectory();
        using (var store = new SqliteStateStore(directory.Path, NullLogger<SqliteStateStore>.Instance))
        {
            var before = new EventHub(100, 100, NullLogger<EventHub>.Instance, store: store);
            for (var i = 0; i < 3; i++)
            {
                before.Publish(Event("function/a"));
            }

            before.Publish(Event("cluster/east"));
        }

        using var reopened = new SqliteStateStore(directory.Path, NullLogger<SqliteStateStore>.Instance);
        var after = new EventHub(100, 100, NullLogger<EventHub>.Instance, store: reopened);

        Assert.Equal(EventHub.SequenceBlock, after.LastSequence("function/a"));
        Assert.Equal(0UL, after.LastSequence("function/never"));
        Assert.Equal(EventHub.SequenceBlock + 1, after.Publish(Event("function/a"))!.Sequence);
        Assert.Equal(EventHub.SequenceBlock + 2, after.Publish(Event("function/a"))!.Sequence);
        Assert.Equal(1UL, after.Publish(Event("function/never"))!.Sequence);
        Assert.Equal(2, after.ChannelCount); // function/a and function/never: cluster/east's mark alone keeps no channel
    }

    [Fact]
    public void Publish_PastABlock_ReservesEachBlockOnceHalfABlockAhead()
    {
        var store = new RecordingMemoryStore();
        var hub = new EventHub(100, 100, NullLogger<EventHub>.Instance, store: store);

        // The first number waits for its block; each next block is reserved once half of the one before is used.
        var reservedAt = new List<(ulong Sequence, int Reservations)>();
        for (var i = 0; i < 2001; i++)
        {
            var numbered = hub.Publish(Event("function/a"))!;
            if (numbered.Sequence is 1 or 500 or 501 or 1001 or 1500 or 1501 or 2001)
            {
                reservedAt.Add((numbered.Sequence, store.Reservations.Count));
            }
        }

        Assert.Equal([("function/a", 1000UL), ("function/a", 2000UL), ("function/a", 3000UL)], store.Reservations);
        Assert.Equal([(1UL, 1), (500UL, 1), (501UL, 2), (1001UL, 2), (1500UL, 2), (1501UL, 3), (2001UL, 3)], reservedAt);
    }

    [Fact]
    public async Task Publish_AReservationUnderWay_OtherChannelsAndTheSameOneAreNotHeldBack()
    {
        var store = new BlockingReservations();
        var hub = new EventHub(100, 100, NullLogger<EventHub>.Instance, store: store);
        hub.Publish(Event("function/a"));
        hub.Publish(Event("function/b"));

        // Crossing function/a's half block reserves its next block: that write is held in the store.
        store.Hold();
        for (var i = 0; i < 499; i++)
        {
            hub.Publish(Event("function/a"));
        }

        var crossing = Task.Run(() => hub.Publish(Event("function/a")));
        await store.HeldAsync();

        Assert.Equal(2UL, hub.Publish(Event("function/b"))!.Sequence);
        Assert.Equal(502UL, hub.Publish(Event("function/a"))!.Sequence);
        Assert.False(crossing.IsCompleted);
        store.Release();
        Assert.Equal(501UL, (await crossing)!.Sequence);
        Assert.Equal([("function/a", 1000UL), ("function/b", 1000UL), ("function/a", 2000UL)], store.Reservations);
    }

    /// <summary>A store whose reservations, once <see cref="Hold"/> is called, wait until <see cref="Release"/>.</summary>
    private sealed class BlockingReservations : RecordingMemoryStore
    {
        private readonly ManualResetEventSlim _released = new(true);
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Hold() => _released.Reset();

        public void Release() => _released.Set();

        public Task HeldAsync() => _held.Task.WaitAsync(TimeSpan.FromSeconds(30));

        public override bool ReserveEventSequences(string channel, ulong through)
        {
            if (!_released.IsSet)
            {
                _held.TrySetResult();
                _released.Wait(TimeSpan.FromSeconds(30));
            }

            return base.ReserveEventSequences(channel, through);
        }
    }

    [Fact]
    public void Publish_ReservationFails_NumberingGoesOnAndTheNextBlockTriesAgain()
    {
        var store = new RecordingMemoryStore { Fail = true };
        var hub = new EventHub(100, 100, NullLogger<EventHub>.Instance, store: store);

        var numbers = new List<ulong>();
        for (var i = 0; i < 1001; i++)
        {
            store.Fail = i < 500;
            numbers.Add(hub.Publish(Event("function/a"))!.Sequence);
        }

        Assert.Equal(Enumerable.Range(1, 1001).Select(n => (ulong)n), numbers);
        Assert.Equal([("function/a", 2000UL)], store.Reservations);
    }
}
