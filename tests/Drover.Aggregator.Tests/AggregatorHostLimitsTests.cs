using System.Net;
using System.Net.Sockets;
using System.Text;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.Tests.Events;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace Drover.Aggregator.Tests;

/// <summary>
/// The Kestrel bounds <see cref="AggregatorHost.Build"/> sets so that no peer holds a connection for
/// longer than stated (README, "How long a peer can hold the aggregator"), on a real host on loopback,
/// checked by what the peer sees: its connection closed, or kept. No timing is asserted; every wait
/// is bounded far above the configured times.
/// </summary>
public sealed class AggregatorHostLimitsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Build_LinkPeerNeverAnswersPing_ConnectionClosed()
    {
        await using var aggregator = await StartAsync(ShortKeepAlive);
        using var bound = new CancellationTokenSource(Bound);
        using var peer = await H2cPeer.ConnectAsync(aggregator.Options.LinkPort, bound.Token);

        // A host gone without a FIN: the socket stays open but nothing answers. Read until the server
        // closes the connection; the bound fails the test if it never does.
        var frames = await peer.ReadFramesAsync(answerPings: false, until: _ => false, bound.Token);

        Assert.Contains(frames, IsPing);
    }

    [Fact]
    public async Task Build_LinkPeerAnswersPings_ConnectionKept()
    {
        await using var aggregator = await StartAsync(ShortKeepAlive);
        using var bound = new CancellationTokenSource(Bound);
        using var peer = await H2cPeer.ConnectAsync(aggregator.Options.LinkPort, bound.Token);

        // Each ping answered, the server pings again after the next delay instead of closing: a third
        // ping comes after two whole delays and timeouts the peer sent nothing but acknowledgements.
        var frames = await peer.ReadFramesAsync(answerPings: true, until: read => read.Count(IsPing) == 3, bound.Token);

        Assert.Equal(3, frames.Count(IsPing));
        Assert.DoesNotContain(frames, f => f.Type == H2cPeer.GoAwayFrame);
    }

    [Fact]
    public async Task Build_IdleGrpcClientOnTheLink_ConnectionKept()
    {
        await using var aggregator = await StartAsync(ShortKeepAlive);
        using var bound = new CancellationTokenSource(Bound);
        var connections = 0;
        using var handler = new SocketsHttpHandler
        {
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectCallback = async (context, cancellationToken) =>
            {
                Interlocked.Increment(ref connections);
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        using var channel = GrpcChannel.ForAddress(aggregator.LinkAddress, new GrpcChannelOptions { HttpHandler = handler });
        var health = new Health.HealthClient(channel);
        await health.CheckAsync(new HealthCheckRequest(), cancellationToken: bound.Token);

        // A silent peer connected after the client's call goes quiet later than the client's connection;
        // once it has been pinged and closed, the client's connection would have been closed before it,
        // had the client (SocketsHttpHandler) not answered its ping.
        using (var silent = await H2cPeer.ConnectAsync(aggregator.Options.LinkPort, bound.Token))
        {
            Assert.Contains(await silent.ReadFramesAsync(answerPings: false, until: _ => false, bound.Token), IsPing);
        }

        await health.CheckAsync(new HealthCheckRequest(), cancellationToken: bound.Token);

        Assert.Equal(1, Volatile.Read(ref connections));
    }

    [Fact]
    public async Task Build_ApiRequestBodyAtOneBytePerSecond_CutOffAnswered408AndNothingLoggedAsAFailure()
    {
        var log = new RecordingSink(output);
        await using var aggregator = await TestAggregator.StartAsync(logger: log.CreateLogger());
        using var bound = new CancellationTokenSource(Bound);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, aggregator.Options.HttpPort), bound.Token);
        using var stream = new NetworkStream(socket);
        await stream.WriteAsync(
            System.Text.Encoding.ASCII.GetBytes($"PUT /v1/functions/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {aggregator.AdminToken}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"),
            bound.Token);

        // The body would take 1000 s at this rate; the server must give up on it long before the bound.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(bound.Token);
        var trickle = TrickleAsync(stream, stop.Token);
        var answer = await ReadUntilClosedAsync(stream, bound.Token);
        await stop.CancelAsync();
        var sent = await trickle;
        output.WriteLine($"Sent {sent} body bytes; answered: {answer}");

        Assert.StartsWith("HTTP/1.1 408 ", answer, StringComparison.Ordinal);
        Assert.DoesNotContain(log.Events, e => e.Level >= Serilog.Events.LogEventLevel.Error);
    }

    /// <summary>
    /// A response the client stops reading is bounded by <c>MinResponseDataRate</c>, but Kestrel allows
    /// each byte it has buffered (at least its 64 KiB response buffer, plus the socket's) its time at
    /// 240 bytes/s before it gives up: minutes, too long to wait for in a test. So this checks the
    /// setting itself, which nothing else would notice missing.
    /// </summary>
    [Fact]
    public async Task Build_MinResponseDataRate_240BytesPerSecondAfter5Seconds()
    {
        await using var aggregator = await StartAsync(_ => { });

        var limits = aggregator.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits;

        Assert.Equal(240, limits.MinResponseDataRate?.BytesPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(5), limits.MinResponseDataRate?.GracePeriod);
    }

    private static bool IsPing(H2cPeer.Frame frame) => frame.Type == H2cPeer.PingFrame && !frame.IsAck;

    /// <summary>The smallest keep-alive a user may configure: a ping after 1 s of silence, 1 s to answer it.</summary>
    private static void ShortKeepAlive(AggregatorOptions options)
    {
        options.LinkKeepAlivePingDelayMs = 1000;
        options.LinkKeepAlivePingTimeoutMs = 1000;
    }

    /// <summary>Writes one byte of JSON whitespace a second until stopped or the connection breaks; returns how many it wrote.</summary>
    private static async Task<int> TrickleAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var sent = 0;
        try
        {
            while (true)
            {
                await stream.WriteAsync(" "u8.ToArray(), cancellationToken);
                sent++;
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            return sent;
        }
    }

    /// <summary>What the server sent until it closed the connection (end of stream or reset).</summary>
    private static async Task<string> ReadUntilClosedAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        using var received = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (IOException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            // Closed with our unread bytes in its buffer.
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The server did not close the connection; it sent: '{Encoding.ASCII.GetString(received.ToArray())}'.", ex);
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }

    private Task<TestAggregator> StartAsync(Action<AggregatorOptions> configure)
        => TestAggregator.StartAsync(configure: configure, logger: new RecordingSink(output).CreateLogger());
}
