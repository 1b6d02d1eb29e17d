using System.Net.Http.Json;
using System.Text.Json;
using Drover.Protocol.V1;
using Drover.SystemTests.Infrastructure;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace Drover.SystemTests.Events;

/// <summary>
/// Status messages published on a function's channel reach a subscribed instance of that function
/// on a real agent, through the real aggregator, every one in order, across the agent's restart.
/// </summary>
public sealed class StatusEventRelayTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly Fleet _fleet = new(output);
    private readonly HttpClient _client = new() { Timeout = TimeSpan.FromSeconds(5) };

    public async Task InitializeAsync()
    {
        _fleet.StartAggregator();
        await _fleet.WaitForAggregatorAsync();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _fleet.DisposeAsync();
    }

    [Fact]
    public async Task SubscribedCounter_ReceivesEveryMessageInOrderWithoutGap_AcrossAnAgentKill()
    {
        // A node that only produces status messages, as another node's shim would. It reports
        // draining, so no instance is placed on it.
        await using var producer = await Producer.ConnectAsync(_fleet.LinkAddress);
        var agent = _fleet.StartAgent("a1", serverNumber: 1);
        await _fleet.WaitForAliveCountAsync(1, Timeout);
        var definition = new
        {
            runtime = new { type = "process", command = Repository.Counter, env = new Dictionary<string, string> { ["COUNTER_SUBSCRIBE"] = "1" } },
            commitIntervalSeconds = 0,
        };
        using (var response = await _fleet.Http.PutAsJsonAsync("/v1/functions/counter", definition))
        {
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        var port = await RunningCounterPortAsync();

        // The subscription is made asynchronously: publish until the counter sees a message.
        await Fleet.WaitUntilAsync(
            async () =>
            {
                await producer.PublishAsync("probe");
                return (await ReceivedAsync(port)).Length > 0;
            },
            Timeout,
            "the counter receives a status message");
        for (var i = 0; i < 20; i++)
        {
            await producer.PublishAsync($"before-{i}");
        }

        await WaitForCallAsync(port, "before-19");

        agent.Kill();
        await agent.WaitForExitAsync(TimeSpan.FromSeconds(10));
        for (var i = 0; i < 20; i++)
        {
            await producer.PublishAsync($"while-down-{i}");
        }

        _fleet.StartAgent("a1", serverNumber: 1);
        await WaitForCallAsync(port, "while-down-19");
        await producer.PublishAsync("after");
        var received = await WaitForCallAsync(port, "after");

        var sequences = received.Select(e => e.GetProperty("sequence").GetInt64()).ToArray();
        Assert.Equal(Enumerable.Range((int)sequences[0], sequences.Length).Select(n => (long)n), sequences);
        var calls = received.Select(e => e.GetProperty("callId").GetString()!).SkipWhile(c => c == "probe").ToArray();
        Assert.Equal([.. Enumerable.Range(0, 20).Select(i => $"before-{i}"), .. Enumerable.Range(0, 20).Select(i => $"while-down-{i}"), "after"], calls);
        Assert.All(received, e => Assert.Equal("completed", e.GetProperty("status").GetString()));
    }

    private async Task<int> RunningCounterPortAsync()
    {
        var port = 0;
        await Fleet.WaitUntilAsync(
            async () =>
            {
                var instances = await _fleet.Http.GetFromJsonAsync<JsonElement[]>("/v1/functions/counter/instances") ?? [];
                var running = instances.FirstOrDefault(i => i.GetProperty("state").GetString() == "running" && i.GetProperty("port").GetInt32() > 0);
                port = running.ValueKind == JsonValueKind.Undefined ? 0 : running.GetProperty("port").GetInt32();
                return port > 0;
            },
            Timeout,
            "the counter runs");
        return port;
    }

    private async Task<JsonElement[]> ReceivedAsync(int port)
    {
        try
        {
            using var response = await _client.GetAsync($"http://127.0.0.1:{port}/events");
            return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonElement[]>() ?? [] : [];
        }
        catch (HttpRequestException)
        {
            return [];
        }
    }

    private async Task<JsonElement[]> WaitForCallAsync(int port, string callId)
    {
        JsonElement[] received = [];
        await Fleet.WaitUntilAsync(
            async () => (received = await ReceivedAsync(port)).Any(e => e.GetProperty("callId").GetString() == callId),
            Timeout,
            $"the counter receives call '{callId}'",
            async () => JsonSerializer.Serialize(await ReceivedAsync(port)));
        return received;
    }

    /// <summary>
    /// A node's agent link stream that sends status messages on <c>function/counter</c>, heartbeating
    /// every half second as an agent does: a node that falls silent is lost, and its stream closed.
    /// </summary>
    private sealed class Producer : IAsyncDisposable
    {
        private readonly GrpcChannel _channel;
        private readonly AsyncDuplexStreamingCall<AgentMessage, AggregatorMessage> _call;
        private readonly SemaphoreSlim _writing = new(1, 1);
        private readonly CancellationTokenSource _stop = new();
        private Task _heartbeating = Task.CompletedTask;
        private ulong _heartbeats;

        private Producer(GrpcChannel channel, AsyncDuplexStreamingCall<AgentMessage, AggregatorMessage> call)
        {
            _channel = channel;
            _call = call;
        }

        public static async Task<Producer> ConnectAsync(string address)
        {
            var channel = GrpcChannel.ForAddress(address);
            var call = new AgentLink.AgentLinkClient(channel).Connect();
            var producer = new Producer(channel, call);
            await call.RequestStream.WriteAsync(new AgentMessage
            {
                Hello = new Hello { NodeId = "producer", ServerNumber = 99, Port = 7411, Cluster = "c1", AgentVersion = "test", Hostname = "producer" },
            });
            Assert.True(await call.ResponseStream.MoveNext().WaitAsync(Timeout));
            await producer.HeartbeatAsync();
            producer._heartbeating = producer.HeartbeatLoopAsync(producer._stop.Token);
            return producer;
        }

        public async Task PublishAsync(string callId)
        {
            await WriteAsync(new AgentMessage
            {
                StatusEvent = new StatusEvent { Channel = "function/counter", CallId = callId, Status = RequestStatus.Completed, Method = "POST", Path = "/", StatusCode = 200 },
            });
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _heartbeating.WaitAsync(Timeout);
            await _call.RequestStream.CompleteAsync().WaitAsync(Timeout);
            _call.Dispose();
            _channel.Dispose();
            _stop.Dispose();
            _writing.Dispose();
        }

        private async Task HeartbeatLoopAsync(CancellationToken cancellationToken)
        {
            try
            {
                while (true)
                {
                    await Task.Delay(500, cancellationToken);
                    await HeartbeatAsync();
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
        }

        private Task HeartbeatAsync()
            => WriteAsync(new AgentMessage { Heartbeat = new Heartbeat { Sequence = ++_heartbeats, Survival = SurvivalState.Draining } });

        private async Task WriteAsync(AgentMessage message)
        {
            // One write at a time on a gRPC request stream.
            await _writing.WaitAsync(Timeout);
            try
            {
                await _call.RequestStream.WriteAsync(message).WaitAsync(Timeout);
            }
            finally
            {
                _writing.Release();
            }
        }
    }
}
