using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.Tests.Events;
using Drover.Decisions.Routing;
using Drover.Gateway;
using Microsoft.Extensions.DependencyInjection;
using Serilog;
using Serilog.Events;
using Xunit.Abstractions;

namespace Drover.Aggregator.Tests;

/// <summary>
/// Issue 14: Slowloris against the HTTP port (management API and gateway), through a real in-process
/// aggregator and raw sockets. A client that trickles its headers is cut at <c>requestHeadersTimeoutMs</c>,
/// one that trickles a gateway request's body at the minimum body data rate, and clients holding
/// every one of <c>httpMaxConnections</c> that way hold the port only until then. No timing is
/// asserted: every wait is bounded far above the configured times, so a missing limit (Kestrel's
/// own 30 s headers timeout) fails the test rather than slowing it.
/// </summary>
/// <remarks>
/// Kestrel names the cause of each cut only at Debug, under the category
/// <c>Microsoft.AspNetCore.Server.Kestrel.BadRequests</c> (<c>ConnectionBadRequest</c> "Reading the request
/// headers timed out.", <c>RequestBodyMinimumDataRateNotSatisfied</c>). Both programs' logger keeps that
/// one category at Debug (<see cref="ProgramLogger.KestrelBadRequests"/>) while other Microsoft
/// categories stay at Warning, so every cut leaves a line naming its cause; these tests do the same,
/// and check that the cause is the limit, not something else closing the connection.
/// </remarks>
[Trait("Category", "Attacks")]
public sealed class SlowClientAttackTests(ITestOutputHelper output)
{
    /// <summary>Far above every limit these tests configure, and below Kestrel's default headers timeout (30 s).</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    /// <summary>The body cut needs the 5 s grace plus Kestrel's once-a-second check; still far below the 1000 s the body would take.</summary>
    private static readonly TimeSpan BodyBound = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan Drip = TimeSpan.FromMilliseconds(200);

    private readonly RecordingSink _log = new(output);

    /// <summary>A request to the gateway whose request line is sent and whose headers never end.</summary>
    private static string SlowHeaders => "GET /v1/invoke/slow/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

    [Fact]
    public async Task Build_HeadersTrickledToTheGateway_Answered408AndClosedAtTheHeadersTimeout()
    {
        await using var aggregator = await StartAsync(o => o.RequestHeadersTimeoutMs = 1500);

        using var slow = await SlowClient.StartAsync(aggregator.Options.HttpPort, SlowHeaders, "a", Drip, CancellationToken.None);
        var answer = await slow.WaitClosedAsync(Bound);
        output.WriteLine($"Sent {slow.Sent} header bytes; answered: {answer}");

        Assert.StartsWith("HTTP/1.1 408 ", answer, StringComparison.Ordinal);
        Assert.Contains(_log.Named("ConnectionBadRequest"), e => Rendered(e).Contains("request headers timed out", StringComparison.Ordinal));
        await AssertApiServesAsync(aggregator);
        AssertNothingLoggedAsAFailure();
    }

    [Fact]
    public async Task Build_SlowClientsHoldEveryHttpConnection_RefusedUntilTheHeadersTimeoutThenServed()
    {
        const int Cap = 4;
        await using var aggregator = await StartAsync(o =>
        {
            o.HttpMaxConnections = Cap;
            o.RequestHeadersTimeoutMs = 1500;
        });
        var slow = new List<SlowClient>();
        try
        {
            for (var i = 0; i < Cap; i++)
            {
                slow.Add(await SlowClient.StartAsync(aggregator.Options.HttpPort, SlowHeaders, "a", Drip, CancellationToken.None));
            }

            // While they hold the port, a request on a new connection is refused on accept: the slow
            // clients really took every connection (else the cut below would prove nothing).
            await TestAggregator.WaitUntilAsync(async () => !await ApiServesAsync(aggregator), "a request is refused while the slow clients hold every connection");
            Assert.NotEmpty(_log.Named("ConnectionRefused"));

            // Each is cut at the headers timeout, and the port serves again.
            foreach (var client in slow)
            {
                Assert.StartsWith("HTTP/1.1 408 ", await client.WaitClosedAsync(Bound), StringComparison.Ordinal);
            }

            await TestAggregator.WaitUntilAsync(() => ApiServesAsync(aggregator), "the API serves once the slow clients are cut");
            AssertNothingLoggedAsAFailure();
        }
        finally
        {
            slow.ForEach(client => client.Dispose());
        }
    }

    [Fact]
    public async Task Build_SlowClientsBelowHttpMaxConnections_ApiServedWhileTheyHold()
    {
        const int Slow = 4;

        // The longest headers timeout a user may set: the slow clients certainly still hold their
        // connections when the API is asked.
        await using var aggregator = await StartAsync(o =>
        {
            o.HttpMaxConnections = Slow + 2;
            o.RequestHeadersTimeoutMs = 300_000;
        });
        var slow = new List<SlowClient>();
        try
        {
            for (var i = 0; i < Slow; i++)
            {
                slow.Add(await SlowClient.StartAsync(aggregator.Options.HttpPort, SlowHeaders, "a", Drip, CancellationToken.None));
            }

            await AssertApiServesAsync(aggregator);

            Assert.All(slow, client => Assert.False(client.Closed.IsCompleted, "a slow client was closed before its headers timeout"));
            Assert.Empty(_log.Named("ConnectionRefused"));
        }
        finally
        {
            slow.ForEach(client => client.Dispose());
        }
    }

    /// <summary>
    /// The gateway streams a request's body to the node as it arrives, so a body trickled to a gateway
    /// path holds a connection to a node as well as the client's. The routing table is set directly
    /// (with a version the aggregator's own tables stay below) to a node that takes whatever it is
    /// sent and never answers: making an instance routable through the link is not what this tests.
    /// </summary>
    [Fact]
    public async Task Build_GatewayRequestBodyBelowTheMinimumRate_CutAndTheApiStillServes()
    {
        await using var aggregator = await StartAsync(_ => { });
        using (var put = await aggregator.Http.PutAsync("/v1/functions/slow", new StringContent("""{"runtime": {"command": "/bin/true"}, "public": true}""", System.Text.Encoding.UTF8, "application/json")))
        {
            put.EnsureSuccessStatusCode(); // public: past the gateway's key check, to the body
        }

        using var node = new SilentNode();
        var routes = aggregator.Services.GetRequiredService<GatewayRoutingTable>();
        Assert.True(routes.Update(new RoutingTable(
            long.MaxValue / 2,
            [new RouteCluster("c1", 1, [new RouteNode("n1", "c1", 1, 100, 0, node.Endpoint)])],
            new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal) { ["slow"] = new HashSet<string>(StringComparer.Ordinal) { "n1" } },
            false,
            "set by the test")));

        // 1000 bytes at one a second: the body would take 1000 s; the server must give up on it long before.
        using var slow = await SlowClient.StartAsync(
            aggregator.Options.HttpPort,
            "POST /v1/invoke/slow/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n",
            "x",
            TimeSpan.FromSeconds(1),
            CancellationToken.None);
        var answer = await slow.WaitClosedAsync(BodyBound);
        output.WriteLine($"Sent {slow.Sent} body bytes; answered: {answer}");

        Assert.True(node.Accepted > 0, "the gateway never forwarded the request to the node: the body was not the gateway's to read");
        Assert.NotEmpty(_log.Named("RequestBodyMinimumDataRateNotSatisfied"));
        Assert.StartsWith("HTTP/1.1 408 ", answer, StringComparison.Ordinal);
        await AssertApiServesAsync(aggregator);
        AssertNothingLoggedAsAFailure();
    }

    private static string Rendered(LogEvent e) => e.RenderMessage(CultureInfo.InvariantCulture);

    /// <summary>Whether a request on a new API connection is answered 200.</summary>
    private static async Task<bool> ApiServesAsync(TestAggregator aggregator)
    {
        using var client = aggregator.ClientWith(aggregator.AdminToken);
        client.Timeout = Bound;
        try
        {
            using var response = await client.GetAsync("/v1/nodes");
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or SocketException)
        {
            // Closed on accept: a refusal can surface from the socket itself, before HttpClient wraps it.
            return false;
        }
    }

    private static async Task AssertApiServesAsync(TestAggregator aggregator)
        => Assert.True(await ApiServesAsync(aggregator), "GET /v1/nodes on a new connection was not answered 200");

    private void AssertNothingLoggedAsAFailure()
        => Assert.DoesNotContain(_log.Events, e => e.Level >= LogEventLevel.Error);

    /// <summary>The host logging from Information, and Kestrel's bad-request category from Debug (see the remarks).</summary>
    private Task<TestAggregator> StartAsync(Action<AggregatorOptions> configure)
        => TestAggregator.StartAsync(
            configure: configure,
            logger: new LoggerConfiguration()
                .MinimumLevel.Information()
                .MinimumLevel.Override(ProgramLogger.KestrelBadRequests, LogEventLevel.Debug)
                .WriteTo.Sink(_log)
                .CreateLogger());

    /// <summary>A node's shim that accepts connections and reads whatever it is sent, never answering.</summary>
    private sealed class SilentNode : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Socket> _accepted = [];
        private int _count;

        public SilentNode()
        {
            _listener.Start();
            _ = AcceptAsync(_stop.Token);
        }

        public string Endpoint => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

        public int Accepted => Volatile.Read(ref _count);

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            lock (_accepted)
            {
                _accepted.ForEach(socket => socket.Dispose());
            }

            _stop.Dispose();
        }

        private async Task AcceptAsync(CancellationToken cancellationToken)
        {
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptSocketAsync(cancellationToken);
                    Interlocked.Increment(ref _count);
                    lock (_accepted)
                    {
                        _accepted.Add(socket);
                    }

                    _ = DrainAsync(socket, cancellationToken);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        }

        private static async Task DrainAsync(Socket socket, CancellationToken cancellationToken)
        {
            var buffer = new byte[4096];
            try
            {
                while (await socket.ReceiveAsync(buffer, cancellationToken) > 0)
                {
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Closed.
            }
        }
    }
}
