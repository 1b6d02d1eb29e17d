using System.Collections.Concurrent;
using Drover.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Drover.SystemTests.Faults;

/// <summary>
/// A node on the agent link played by the test with the generated client: a Hello in its cluster,
/// heartbeats every half second, and status messages on <c>function/counter</c> on demand. How it
/// reads its stream is the fault under test: not at all, slowly, or like an agent (answering probes).
/// </summary>
internal sealed class LinkPeer : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly GrpcChannel _channel;
    private readonly AsyncDuplexStreamingCall<AgentMessage, AggregatorMessage> _call;
    private readonly SemaphoreSlim _writing = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly uint _serverNumber;
    private readonly uint _port;
    private Task _heartbeats = Task.CompletedTask;
    private Task _reading = Task.CompletedTask;
    private ulong _heartbeat;
    private int _read;

    private LinkPeer(GrpcChannel channel, AsyncDuplexStreamingCall<AgentMessage, AggregatorMessage> call, uint serverNumber, uint port)
    {
        _channel = channel;
        _call = call;
        _serverNumber = serverNumber;
        _port = port;
    }

    /// <summary>The functions whose StartInstance this peer has read.</summary>
    public ConcurrentDictionary<string, int> Started { get; } = new(StringComparer.Ordinal);

    /// <summary>How many messages this peer has read after Welcome.</summary>
    public int Read => Volatile.Read(ref _read);

    /// <summary>Opens a stream, sends the Hello, reads the Welcome and starts heartbeating (alive).</summary>
    public static async Task<LinkPeer> ConnectAsync(string address, string nodeId, uint serverNumber, uint port, string cluster = "c1")
    {
        var channel = GrpcChannel.ForAddress(address);
        var call = new AgentLink.AgentLinkClient(channel).Connect();
        var peer = new LinkPeer(channel, call, serverNumber, port);
        await peer.WriteAsync(new AgentMessage
        {
            Hello = new Hello { NodeId = nodeId, ServerNumber = serverNumber, Port = port, Cluster = cluster, AgentVersion = "test", Hostname = nodeId },
        });
        Assert.True(await call.ResponseStream.MoveNext().WaitAsync(Timeout));
        Assert.Equal(AggregatorMessage.KindOneofCase.Welcome, call.ResponseStream.Current.KindCase);
        peer._heartbeats = peer.HeartbeatAsync(peer._stop.Token);
        return peer;
    }

    /// <summary>Subscribes to <paramref name="channel"/> from its next message on.</summary>
    public Task SubscribeAsync(string channel) => WriteAsync(new AgentMessage { EventSubscription = new EventSubscription { Channel = channel } });

    /// <summary>Publishes a status message on <c>function/counter</c> with a path of about 4 KiB, so that few fill a stream.</summary>
    public Task PublishAsync(int number) => WriteAsync(new AgentMessage
    {
        StatusEvent = new StatusEvent
        {
            Channel = "function/counter",
            CallId = $"flood-{number}",
            Status = RequestStatus.Completed,
            Method = "POST",
            Path = "/" + new string('x', 4000),
            StatusCode = 200,
        },
    });

    /// <summary>Reads its stream from now on, waiting <paramref name="pause"/> after each message; answers probes.</summary>
    public void StartReading(TimeSpan pause) => _reading = ReadAsync(pause, _stop.Token);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _call.Dispose(); // Ends the call: the loops see it cancelled.
        await Task.WhenAll(_heartbeats, _reading).WaitAsync(Timeout);
        _channel.Dispose();
        _stop.Dispose();
        _writing.Dispose();
    }

    private async Task ReadAsync(TimeSpan pause, CancellationToken cancellationToken)
    {
        try
        {
            while (await _call.ResponseStream.MoveNext(cancellationToken))
            {
                var message = _call.ResponseStream.Current;
                Interlocked.Increment(ref _read);
                if (message.Command?.StartInstance is { } start)
                {
                    Started.AddOrUpdate(start.Spec.Function, 1, (_, n) => n + 1);
                }
                else if (message.SurvivalProbe is { } probe)
                {
                    await WriteAsync(new AgentMessage { ProbeReply = new ProbeReply { Sequence = probe.Sequence, ServerNumber = _serverNumber, Port = _port, Survival = SurvivalState.Alive } });
                }

                if (pause > TimeSpan.Zero)
                {
                    await Task.Delay(pause, cancellationToken);
                }
            }
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The stream ended: aborted by the aggregator, or disposed by the test.
        }
    }

    private async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await WriteAsync(new AgentMessage { Heartbeat = new Heartbeat { Sequence = ++_heartbeat, Survival = SurvivalState.Alive } });
                await Task.Delay(500, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException or IOException or InvalidOperationException or ObjectDisposedException or TimeoutException)
        {
            // The stream ended: aborted by the aggregator, or disposed by the test.
        }
    }

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
