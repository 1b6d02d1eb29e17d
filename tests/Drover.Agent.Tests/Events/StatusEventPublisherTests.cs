using Drover.Agent.Events;
using Drover.Agent.Link;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Agent.Tests.Events;

public class StatusEventPublisherTests
{
    private readonly FakeLink _link = new();

    private static StatusEvent Event(string callId) => new() { Channel = "function/counter", CallId = callId, Status = RequestStatus.Accepted };

    private static List<string> CallIds(IEnumerable<AgentMessage> messages)
        => messages.Where(m => m.KindCase == AgentMessage.KindOneofCase.StatusEvent).Select(m => m.StatusEvent.CallId).ToList();

    private StatusEventPublisher Publisher(int capacity = StatusEventPublisher.DefaultCapacity)
        => new(_link.Outbox, NullLogger<StatusEventPublisher>.Instance, capacity);

    [Fact]
    public void Publish_NoStream_KeptAndSentInOrderWhenAStreamIsWelcomed()
    {
        var publisher = Publisher();
        publisher.Publish(Event("a"));
        publisher.Publish(Event("b"));

        _link.Connect();
        publisher.Publish(Event("c"));

        Assert.Equal(["a", "b", "c"], CallIds(_link.Drain()));
        Assert.Equal(0, publisher.Pending);
    }

    [Fact]
    public void Publish_BeyondCapacity_DropsTheOldest()
    {
        var publisher = Publisher(capacity: 3);
        foreach (var callId in new[] { "a", "b", "c", "d", "e" })
        {
            publisher.Publish(Event(callId));
        }

        _link.Connect();

        Assert.Equal(["c", "d", "e"], CallIds(_link.Drain()));
    }

    [Fact]
    public void Break_MessagesQueuedButNotWritten_SentAgainFirstOnTheNextStream()
    {
        var publisher = Publisher();
        _link.Connect();
        publisher.Publish(Event("written"));
        Assert.Equal(["written"], CallIds(_link.Drain()));
        publisher.Publish(Event("a"));
        publisher.Publish(Event("b"));

        _link.Break();
        publisher.Publish(Event("c"));
        _link.Connect();

        Assert.Equal(["a", "b", "c"], CallIds(_link.Drain()));
    }

    [Fact]
    public async Task Publish_OutboxFull_KeptAndSentOnceTheOutboxDrains()
    {
        var publisher = Publisher();
        _link.Connect();
        for (var i = 0; i < AgentOutbox.Capacity - 1; i++)
        {
            Assert.True(_link.Outbox.TrySend(new AgentMessage { Heartbeat = new Heartbeat { Sequence = (ulong)i } }));
        }

        publisher.Publish(Event("a"));
        publisher.Publish(Event("b"));
        publisher.Publish(Event("c"));
        Assert.Equal(2, publisher.Pending);

        // Writing "a" makes room; b and c follow without another Publish.
        var first = CallIds(_link.Drain());
        var rest = new List<string> { CallIds([await _link.NextAsync()]).Single(), CallIds([await _link.NextAsync()]).Single() };

        Assert.Equal(["a"], first);
        Assert.Equal(["b", "c"], rest);
    }
}
