using Drover.Aggregator.Events;
using Drover.Aggregator.Tests.Events;
using Drover.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Drover.Aggregator.Tests.Link;

/// <summary>Status messages and channel subscriptions over the real agent link of an in-process aggregator.</summary>
public sealed class AgentLinkEventsTests : IAsyncLifetime
{
    private const string Channel = "function/counter";
    private static readonly TimeSpan Timeout = TestAggregator.Timeout;

    private TestAggregator? _aggregator;

    private TestAggregator Aggregator => _aggregator!;

    public async Task InitializeAsync()
    {
        _aggregator = await TestAggregator.StartAsync();

        // Status messages are kept only for channels of defined functions and services.
        await _aggregator.DefineFunctionAsync("counter");
    }

    public async Task DisposeAsync()
    {
        if (_aggregator is not null)
        {
            await _aggregator.DisposeAsync();
        }
    }

    [Fact]
    public async Task StatusEvents_NumberedWithTheStreamsNodeAndRelayedToASubscribedAgentAfterItsNumber()
    {
        using var probe = Aggregator.Hub.Subscribe(EventFilter.Channel(Channel));
        await using var producer = await Agent.ConnectAsync(Aggregator, "node-a", 1);
        await using var subscriber = await Agent.ConnectAsync(Aggregator, "node-b", 2);

        await producer.SendAsync(new AgentMessage { StatusEvent = Event("c1", nodeId: "spoofed") });
        await producer.SendAsync(new AgentMessage { StatusEvent = new StatusEvent { Channel = "function/Bad", Status = RequestStatus.Accepted } });
        var undefined = Event("c0");
        undefined.Channel = "function/not-defined";
        await producer.SendAsync(new AgentMessage { StatusEvent = undefined });
        await producer.SendAsync(new AgentMessage { StatusEvent = Event("c2") });
        await producer.SendAsync(new AgentMessage { StatusEvent = Event("c3") });
        var ingested = await EventHubTests.TakeAsync(probe, 3);
        await subscriber.SendAsync(new AgentMessage { EventSubscription = new EventSubscription { Channel = Channel, AfterSequence = 1 } });
        var replayed = await subscriber.ReceiveChannelEventsAsync(2);
        await producer.SendAsync(new AgentMessage { StatusEvent = Event("c4") });
        var live = await subscriber.ReceiveChannelEventsAsync(1);

        // The bad one and the one of no defined function were dropped and the stream lived on; the
        // peer did not choose the node id.
        Assert.Equal([(1UL, "c1"), (2UL, "c2"), (3UL, "c3")], ingested.Select(e => (e.Sequence, e.Event.CallId)));
        Assert.All(ingested, e => Assert.Equal("node-a", e.Event.NodeId));
        Assert.Equal([(2UL, "c2"), (3UL, "c3")], replayed.Select(e => (e.Sequence, e.Event.CallId)));
        Assert.Equal([(4UL, "c4")], live.Select(e => (e.Sequence, e.Event.CallId)));
    }

    private static StatusEvent Event(string callId, string nodeId = "") => new()
    {
        Channel = Channel,
        CallId = callId,
        Status = RequestStatus.Completed,
        Method = "POST",
        Path = "/",
        NodeId = nodeId,
        StatusCode = 200,
    };

    /// <summary>One agent's stream: Hello sent and Welcome read.</summary>
    internal sealed class Agent : IAsyncDisposable
    {
        private readonly GrpcChannel _channel;
        private readonly AsyncDuplexStreamingCall<AgentMessage, AggregatorMessage> _call;

        private Agent(GrpcChannel channel, AsyncDuplexStreamingCall<AgentMessage, AggregatorMessage> call)
        {
            _channel = channel;
            _call = call;
        }

        public static async Task<Agent> ConnectAsync(TestAggregator aggregator, string nodeId, int serverNumber)
        {
            var channel = GrpcChannel.ForAddress(aggregator.LinkAddress);
            var call = new AgentLink.AgentLinkClient(channel).Connect();
            var agent = new Agent(channel, call);
            await agent.SendAsync(new AgentMessage
            {
                Hello = new Hello { NodeId = nodeId, ServerNumber = (uint)serverNumber, Port = 7411, Cluster = "c1", AgentVersion = "test", Hostname = nodeId },
            });
            Assert.True(await call.ResponseStream.MoveNext().WaitAsync(Timeout));
            Assert.Equal(AggregatorMessage.KindOneofCase.Welcome, call.ResponseStream.Current.KindCase);
            return agent;
        }

        public Task SendAsync(AgentMessage message) => _call.RequestStream.WriteAsync(message).WaitAsync(Timeout);

        public async Task<List<ChannelEvent>> ReceiveChannelEventsAsync(int count)
        {
            var received = new List<ChannelEvent>();
            while (received.Count < count && await _call.ResponseStream.MoveNext().WaitAsync(Timeout))
            {
                if (_call.ResponseStream.Current.KindCase == AggregatorMessage.KindOneofCase.ChannelEvent)
                {
                    received.Add(_call.ResponseStream.Current.ChannelEvent);
                }
            }

            return received;
        }

        /// <summary>The next message of <paramref name="kind"/>, skipping the others (probes, commands).</summary>
        public async Task<AggregatorMessage> ReceiveAsync(AggregatorMessage.KindOneofCase kind)
        {
            while (await _call.ResponseStream.MoveNext().WaitAsync(Timeout))
            {
                if (_call.ResponseStream.Current.KindCase == kind)
                {
                    return _call.ResponseStream.Current;
                }
            }

            throw new InvalidOperationException($"the stream ended before a {kind}");
        }

        public async ValueTask DisposeAsync()
        {
            await _call.RequestStream.CompleteAsync().WaitAsync(Timeout);
            _call.Dispose();
            _channel.Dispose();
        }
    }
}
