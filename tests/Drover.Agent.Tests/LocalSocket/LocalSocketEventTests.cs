using Drover.Agent.Events;
using Drover.Agent.LocalSocket;
using Drover.Agent.LocalSocket.V1;
using Drover.Agent.Tests.Events;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Drover.Agent.Tests.LocalSocket;

/// <summary>Subscribe and pushed Event frames on a real local socket, fed by a real <see cref="EventRelay"/>.</summary>
public sealed class LocalSocketEventTests : IAsyncLifetime
{
    private const string Channel = "function/counter";
    private const string InstanceId = "counter-0";

    private readonly ITestOutputHelper _output;
    private readonly FakeLink _link = new();
    private readonly EventRelay _relay;
    private LocalSocketServerHarness? _harness;

    public LocalSocketEventTests(ITestOutputHelper output)
    {
        _output = output;
        _relay = new EventRelay(_link.Outbox, NullLogger<EventRelay>.Instance);
        _link.Connect();
    }

    private LocalSocketServerHarness Harness => _harness!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_harness is not null)
        {
            await _harness.DisposeAsync();
        }
    }

    private async Task StartAsync(Action<LocalSocketOptions>? configure = null)
    {
        _harness = new LocalSocketServerHarness(_output, configure, events: _relay, channelOf: id => id == InstanceId ? Channel : null);
        await _harness.StartAsync();
    }

    private static ChannelEvent Numbered(ulong sequence) => new()
    {
        Sequence = sequence,
        Event = new StatusEvent
        {
            Channel = Channel,
            CallId = $"call-{sequence}",
            Status = RequestStatus.Completed,
            Method = "POST",
            Path = "/",
            NodeId = "node-b",
            InstanceId = "counter-1",
            StatusCode = 200,
            DurationMs = 3.5,
            Headers = { ["x-tenant"] = "t1" },
        },
    };

    private static InstanceFrame Subscribe(ulong requestId, string channel, ulong after = 0)
        => new() { RequestId = requestId, Subscribe = new Subscribe { Channel = channel, AfterSequence = after } };

    /// <summary>Waits (bounded) until the relay has a local subscriber for the channel: the Subscribed reply is written just before it subscribes.</summary>
    private async Task SubscribedAsync()
    {
        Assert.Equal(AgentMessage.KindOneofCase.EventSubscription, (await _link.NextAsync()).KindCase);
    }

    [Fact]
    public async Task Subscribe_OwnChannel_SubscribedThenEventsInterleavedWithRepliesEachWhole()
    {
        await StartAsync();
        await using var client = await Harness.RegisterAsync(InstanceId);

        await client.SendAsync(Subscribe(5, Channel));
        var subscribed = await client.ReceiveAsync();
        await SubscribedAsync();
        await client.SendAsync(new InstanceFrame { RequestId = 6, ReportGpuWork = new ReportGpuWork() });
        _relay.Deliver(Numbered(1));
        _relay.Deliver(Numbered(2));
        await client.SendAsync(new InstanceFrame { RequestId = 7, CommitNow = new CommitNow() });
        _relay.Deliver(Numbered(3));
        var frames = new List<AgentFrame>();
        for (var i = 0; i < 5; i++)
        {
            frames.Add(await client.ReceiveAsync());
        }

        Assert.Equal(5UL, subscribed.RequestId);
        Assert.Equal(Channel, subscribed.Subscribed.Channel);
        var replies = frames.Where(f => f.KindCase != AgentFrame.KindOneofCase.Event).ToList();
        var events = frames.Where(f => f.KindCase == AgentFrame.KindOneofCase.Event).ToList();
        Assert.Equal([6UL, 7], replies.Select(f => f.RequestId));
        Assert.Equal([AgentFrame.KindOneofCase.Ack, AgentFrame.KindOneofCase.CommitResult], replies.Select(f => f.KindCase));
        Assert.Equal([1UL, 2, 3], events.Select(f => f.Event.Sequence));
        Assert.All(events, f => Assert.Equal(0UL, f.RequestId));
        Assert.Equal(
            new Event
            {
                Sequence = 1,
                Channel = Channel,
                CallId = "call-1",
                Status = "completed",
                Method = "POST",
                Path = "/",
                NodeId = "node-b",
                InstanceId = "counter-1",
                StatusCode = 200,
                DurationMs = 3.5,
                Headers = { ["x-tenant"] = "t1" },
            },
            events[0].Event);
    }

    [Theory]
    [InlineData("function/other")]
    [InlineData("service/counter")]
    [InlineData("")]
    public async Task Subscribe_AnotherChannel_InvalidNamingTheChannelAndTheConnectionStaysOpen(string channel)
    {
        await StartAsync();
        await using var client = await Harness.RegisterAsync(InstanceId);

        await client.SendAsync(Subscribe(5, channel));
        var refused = await client.ReceiveErrorAsync(ErrorCodes.Invalid);
        await client.SendAsync(Subscribe(6, Channel));
        var subscribed = await client.ReceiveAsync();

        Assert.Equal(5UL, refused.RequestId);
        Assert.Contains($"'{channel}'", refused.Error.Message, StringComparison.Ordinal);
        Assert.Contains(Channel, refused.Error.Message, StringComparison.Ordinal);
        Assert.Equal(AgentFrame.KindOneofCase.Subscribed, subscribed.KindCase);
    }

    [Fact]
    public async Task Subscribe_InstanceWithoutAChannel_Invalid()
    {
        await StartAsync();
        await using var client = await Harness.RegisterAsync("stranger-0");

        await client.SendAsync(Subscribe(5, Channel));

        await client.ReceiveErrorAsync(ErrorCodes.Invalid);
        Assert.Empty(_relay.Channels);
    }

    [Fact]
    public async Task Events_ReaderFallsBehindItsQueue_UnavailableAndClosedAndTheRelayDropsIt()
    {
        await StartAsync(o => o.MaxQueuedEvents = 2);
        await using var client = await Harness.RegisterAsync(InstanceId);
        await client.SendAsync(Subscribe(5, Channel));
        await client.ReceiveAsync();
        await SubscribedAsync();

        // Far faster than the connection writes them: its queue of two overflows.
        for (ulong sequence = 1; sequence <= 1000; sequence++)
        {
            _relay.Deliver(Numbered(sequence));
        }

        var sequences = new List<ulong>();
        AgentFrame? frame;
        while ((frame = await client.ReceiveOrEndAsync()) is { KindCase: AgentFrame.KindOneofCase.Event })
        {
            sequences.Add(frame.Event.Sequence);
        }

        // The Unavailable error comes unless the overflow cut an event's write short: the connection
        // then counts as torn and closes without it (never a half frame followed by another).
        if (frame is not null)
        {
            Assert.Equal(AgentFrame.KindOneofCase.Error, frame.KindCase);
            Assert.Equal(ErrorCodes.Unavailable, frame.Error.Code);
            await client.AssertClosedAsync();
        }

        Assert.True(sequences.Count < 1000, $"expected the connection to fall behind, got all {sequences.Count} events");
        Assert.Equal(Enumerable.Range(1, sequences.Count).Select(n => (ulong)n), sequences);
        Assert.Empty(_relay.Channels);
    }
}
