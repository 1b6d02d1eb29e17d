using System.Net;
using Drover.Aggregator.Tests.Events;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace Drover.Aggregator.Tests;

/// <summary>
/// <c>httpMaxConnections</c> and <c>linkMaxConnections</c> on a real aggregator host on loopback, as
/// a client sees them: connections up to the cap are served, the next is closed on accept, and once a
/// held one closes a new one is served again. Each port counts only its own connections.
/// </summary>
public sealed class ConnectionLimitTests(ITestOutputHelper output)
{
    private const int Cap = 2;
    private static readonly TimeSpan Bound = TestAggregator.Timeout;

    [Fact]
    public async Task Wrap_HttpPortHoldsHttpMaxConnections_NextClosedUntilOneCloses()
    {
        var log = new RecordingSink(output);
        await using var aggregator = await TestAggregator.StartAsync(configure: o => o.HttpMaxConnections = Cap, logger: log.CreateLogger());
        var held = new List<HttpClient>();
        try
        {
            // Each client keeps its own connection open after its request (HTTP/1.1 keep-alive).
            for (var i = 0; i < Cap; i++)
            {
                held.Add(ApiClient(aggregator));
                using var served = await held[i].GetAsync("/v1/nodes");
                Assert.Equal(HttpStatusCode.OK, served.StatusCode);
            }

            // The link port is not full: each port counts its own.
            Assert.True(await LinkServesAsync(aggregator));

            // Beyond the cap a request fails, however often it is tried; the refusal is logged once.
            for (var i = 0; i < 2; i++)
            {
                using var refused = ApiClient(aggregator);
                // The connection closed on accept: HttpClient reports it as an HttpRequestException, or, when the close
                // wins the race with its own look at the socket's remote end, as the SocketException of that look.
                var error = await Record.ExceptionAsync(() => refused.GetAsync("/v1/nodes"));
                Assert.True(error is HttpRequestException or System.Net.Sockets.SocketException, $"expected the connection closed, got {error?.GetType().Name ?? "an answer"}: {error}");
            }

            held[0].Dispose();

            // The aggregator counts the closed connection out once it sees the close; until then a new
            // one is still refused.
            await TestAggregator.WaitUntilAsync(() => ApiServesAsync(aggregator), "a new API connection is served once a held one closed");
            Assert.Single(log.Named("ConnectionRefused"));
        }
        finally
        {
            held.ForEach(client => client.Dispose());
        }
    }

    [Fact]
    public async Task Wrap_LinkPortHoldsLinkMaxConnections_NextClosedUntilOneCloses()
    {
        var log = new RecordingSink(output);
        await using var aggregator = await TestAggregator.StartAsync(configure: o => o.LinkMaxConnections = Cap, logger: log.CreateLogger());
        using var bound = new CancellationTokenSource(Bound);
        var held = new List<H2cPeer>();
        try
        {
            // A connection the aggregator serves gets its HTTP/2 SETTINGS.
            for (var i = 0; i < Cap; i++)
            {
                held.Add(await H2cPeer.ConnectAsync(aggregator.Options.LinkPort, bound.Token));
                var first = await held[i].ReadFrameAsync(bound.Token);
                Assert.Equal(H2cPeer.SettingsFrame, first?.Type);
            }

            Assert.True(await ApiServesAsync(aggregator));

            // Beyond the cap: closed before a frame, and a gRPC call (an agent's Connect, here a health
            // check) fails as unavailable. The refusal is logged once.
            Assert.True(await H2cPeer.ClosedBeforeAFrameAsync(aggregator.Options.LinkPort, bound.Token));

            using (var channel = GrpcChannel.ForAddress(aggregator.LinkAddress))
            {
                var failed = await Assert.ThrowsAsync<RpcException>(() => new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.Add(Bound)).ResponseAsync);
                // Unavailable when the refusal comes before the call is under way; Internal when the
                // connection is closed under a call already sent (its response ended early). Both fail it.
                Assert.True(failed.StatusCode is StatusCode.Unavailable or StatusCode.Internal, $"the call over the cap failed with {failed.Status}");
            }

            held[0].Dispose();

            await TestAggregator.WaitUntilAsync(() => LinkServesAsync(aggregator), "a new link connection is served once a held one closed");
            Assert.Single(log.Named("ConnectionRefused"));
        }
        finally
        {
            held.ForEach(peer => peer.Dispose());
        }
    }

    /// <summary>A client of its own, so its own connection.</summary>
    private static HttpClient ApiClient(TestAggregator aggregator)
    {
        var client = aggregator.ClientWith(aggregator.AdminToken);
        client.Timeout = Bound;
        return client;
    }

    /// <summary>Whether a request on a new API connection is answered.</summary>
    private static async Task<bool> ApiServesAsync(TestAggregator aggregator)
    {
        using var client = ApiClient(aggregator);
        try
        {
            using var response = await client.GetAsync("/v1/nodes");
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or System.Net.Sockets.SocketException)
        {
            return false; // closed on accept (see the refusals above)
        }
    }

    /// <summary>Whether a gRPC call on a new link connection (a new channel) is answered.</summary>
    private static async Task<bool> LinkServesAsync(TestAggregator aggregator)
    {
        using var channel = GrpcChannel.ForAddress(aggregator.LinkAddress);
        try
        {
            await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.Add(Bound));
            return true;
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.Internal)
        {
            // Internal: the connection was closed before the HTTP/2 handshake (the slot not yet freed), not served.
            return false;
        }
    }
}
