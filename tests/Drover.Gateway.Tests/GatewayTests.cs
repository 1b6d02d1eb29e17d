using System.Net;
using System.Text;
using System.Text.Json;
using Drover.Decisions.Routing;
using Xunit.Abstractions;
using static Drover.Gateway.Tests.GatewayHarness;

namespace Drover.Gateway.Tests;

public sealed class GatewayTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly List<FakeShim> _shims = [];
    private GatewayHarness _gateway = null!;

    public async Task InitializeAsync() => _gateway = await StartAsync(output);

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        foreach (var shim in _shims)
        {
            await shim.DisposeAsync();
        }
    }

    private async Task<FakeShim> ShimAsync(string nodeId, ShimBehavior behavior = ShimBehavior.Echo)
    {
        var shim = await FakeShim.StartAsync(nodeId, output, behavior);
        _shims.Add(shim);
        return shim;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? body = null, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "text/plain");
        }

        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await _gateway.Client.SendAsync(request).WaitAsync(Bound);
    }

    private static string? Header(HttpResponseMessage response, string name)
        => response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync().WaitAsync(Bound)).RootElement;
    }

    [Fact]
    public async Task Invoke_TwoClustersByShare_EachRequestGoesToTheDrawnCluster()
    {
        var a = await ShimAsync("a1");
        var b = await ShimAsync("b1");
        _gateway.Table.Update(TableOf(1, [new RouteCluster("a", 0.6, [Node("a1", "a", a.Endpoint)]), new RouteCluster("b", 0.4, [Node("b1", "b", b.Endpoint)])]));
        // (cluster draw, node draw) per request: a covers [0, 0.6).
        _gateway.Draw(0.1, 0, 0.59, 0, 0.6, 0, 0.99, 0, 0.3, 0);

        var clusters = new List<string?>();
        for (var i = 0; i < 5; i++)
        {
            using var response = await SendAsync(HttpMethod.Post, "/v1/invoke/counter/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(Header(response, "X-Drover-Cluster") == "a" ? "a1" : "b1", Header(response, "X-Drover-Node"));
            clusters.Add(Header(response, "X-Drover-Cluster"));
        }

        Assert.Equal(["a", "a", "b", "b", "a"], clusters);
        Assert.Equal(3, a.Received);
        Assert.Equal(2, b.Received);
    }

    [Fact]
    public async Task Invoke_NodesOfMixedPriorityAndHosts_BestUsableNodeServes()
    {
        var a1 = await ShimAsync("a1");
        var a2 = await ShimAsync("a2");
        var a3 = await ShimAsync("a3");
        RouteCluster cluster = new("a", 1, [Node("a1", "a", a1.Endpoint, 1, priority: 0), Node("a2", "a", a2.Endpoint, 2, priority: 1), Node("a3", "a", a3.Endpoint, 3, priority: 1)]);
        // a1 (best priority) does not host 'counter'; among a2 and a3 the node draw 0.99 takes the last of the tie.
        var hosts = new Dictionary<string, IReadOnlySet<string>> { ["counter"] = new HashSet<string> { "a2", "a3" }, ["other"] = new HashSet<string> { "a1", "a2" } };
        _gateway.Table.Update(new RoutingTable(1, [cluster], hosts, false, "ok"));
        _gateway.Draw(0, 0.99, 0, 0.99);

        using var counter = await SendAsync(HttpMethod.Post, "/v1/invoke/counter/");
        using var other = await SendAsync(HttpMethod.Post, "/v1/invoke/other/");

        Assert.Equal("a3", Header(counter, "X-Drover-Node"));
        Assert.Equal("a1", Header(other, "X-Drover-Node"));
        Assert.Equal("a3-instance", Header(counter, "X-Drover-Instance"));
        Assert.Equal(0, a2.Received);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Invoke_TableDegradedOrNot_DegradedHeaderOnlyWhenDegraded(bool degraded)
    {
        var a = await ShimAsync("a1");
        _gateway.Table.Update(TableOf(1, [new RouteCluster("a", 1, [Node("a1", "a", a.Endpoint)])], degraded));

        using var response = await SendAsync(HttpMethod.Post, "/v1/invoke/counter/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(degraded ? "true" : null, Header(response, "X-Drover-Degraded"));
    }

    [Fact]
    public async Task Invoke_ShimLacksNodeHeader_GatewayAddsIt()
    {
        var a = await ShimAsync("a1", ShimBehavior.EchoWithoutNodeHeader);
        _gateway.Table.Update(TableOf(1, [new RouteCluster("a", 1, [Node("a1", "a", a.Endpoint)])]));

        using var response = await SendAsync(HttpMethod.Post, "/v1/invoke/counter/");

        Assert.Equal("a1", Header(response, "X-Drover-Node"));
        Assert.Equal("a", Header(response, "X-Drover-Cluster"));
    }

    [Fact]
    public async Task Invoke_NoTableYet_503WithTheTablesReasonAndRetryAfter()
    {
        using var response = await SendAsync(HttpMethod.Post, "/v1/invoke/counter/run");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("1", Header(response, "Retry-After"));
        var body = await JsonAsync(response);
        Assert.Equal("unavailable", body.GetProperty("error").GetString());
        Assert.Equal("no health evaluation has run yet", body.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Invoke_WorkloadHostedNowhere_503NamingTheWorkload()
    {
        var a = await ShimAsync("a1");
        _gateway.Table.Update(TableOf(1, [new RouteCluster("a", 1, [Node("a1", "a", a.Endpoint)])], degraded: true));

        using var response = await SendAsync(HttpMethod.Post, "/v1/invoke/resize/");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("true", Header(response, "X-Drover-Degraded"));
        Assert.Equal("no surviving node of a serving cluster has a ready instance of 'resize'", (await JsonAsync(response)).GetProperty("reason").GetString());
        Assert.Equal(0, a.Received);
    }

    [Fact]
    public async Task Get_NodeRefusesConnections_RetriedOnAnotherNode()
    {
        var a2 = await ShimAsync("a2");
        _gateway.Table.Update(TableOf(1, [new RouteCluster("a", 1, [Node("a1", "a", DeadEndpoint(), 1), Node("a2", "a", a2.Endpoint, 2)])], workloads: "service/db"));
        _gateway.Draw(0, 0);   // the idle tie goes to a1 first

        using var response = await SendAsync(HttpMethod.Get, "/v1/services/db/items?id=7");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("a2", Header(response, "X-Drover-Node"));
        Assert.Equal("GET /v1/services/db/items?id=7\n", await response.Content.ReadAsStringAsync().WaitAsync(Bound));
    }

    [Fact]
    public async Task Get_NodeRefusedOnce_NextRequestsAvoidItWhileTheTableStillListsIt()
    {
        var a2 = await ShimAsync("a2");
        _gateway.Table.Update(TableOf(1, [new RouteCluster("a", 1, [Node("a1", "a", DeadEndpoint(), 1), Node("a2", "a", a2.Endpoint, 2)])]));
        _gateway.Draw(0, 0);   // every idle tie goes to a1
        using (var first = await SendAsync(HttpMethod.Get, "/v1/invoke/counter/"))
        {
            Assert.Equal("a2", Header(first, "X-Drover-Node"));
        }

        // a1 failed a request: ejected, the next requests go straight to a2 without a retry.
        for (var i = 0; i < 3; i++)
        {
            using var response = await SendAsync(HttpMethod.Post, "/v1/invoke/counter/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("a2", Header(response, "X-Drover-Node"));
        }

        Assert.Equal(4, a2.Received);
    }

    [Fact]
    public async Task Get_RetryAfterTheTableChanged_RoutedByTheNewTable()
    {
        var b1 = await ShimAsync("b1");
        var a2 = await ShimAsync("a2", ShimBehavior.Abort);
        _gateway.Table.Update(TableOf(1, [new RouteCluster("a", 1, [Node("a1", "a", DeadEndpoint(), 1), Node("a2", "a", a2.Endpoint, 2)])]));
        _gateway.Draw(0, 0);
        var sent = SendAsync(HttpMethod.Get, "/v1/invoke/counter/");

        // The health decision drops cluster a during the retry's back-off: the retry goes to b.
        _gateway.Table.Update(TableOf(2, [new RouteCluster("b", 1, [Node("b1", "b", b1.Endpoint, 1)])]));
        using var response = await sent;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("b1", Header(response, "X-Drover-Node"));
    }

    [Fact]
    public async Task Put_NodeAbortsBeforeAnswering_RetriedOnAnotherNodeWithTheBody()
    {
        var a1 = await ShimAsync("a1", ShimBehavior.Abort);
        var a2 = await ShimAsync("a2");
        _gateway.Table.Update(TableOf(1, [new RouteCluster("a", 1, [Node("a1", "a", a1.Endpoint, 1), Node("a2", "a", a2.Endpoint, 2)])], workloads: "service/db"));

        using var response = await SendAsync(HttpMethod.Put, "/v1/services/db/items/7", "seven");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("a2", Header(response, "X-Drover-Node"));
        Assert.Equal("PUT /v1/services/db/items/7\nseven", await response.Content.ReadAsStringAsync().WaitAsync(Bound));
        Assert.Equal(1, a1.Received);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Post_NodeFailsWithoutIdempotencyKey_502NamingTheNode(bool aborts)
    {
        var a1 = aborts ? (await ShimAsync("a1", ShimBehavior.Abort)).Endpoint : DeadEndpoint();
        var a2 = await ShimAsync("a2");
        _gateway.Table.Update(TableOf(1, [new RouteCluster("a", 1, [Node("a1", "a", a1, 1), Node("a2", "a", a2.Endpoint, 2)])]));

        using var response = await SendAsync(HttpMethod.Post, "/v1/invoke/counter/", "add 1");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var body = await JsonAsync(response);
        Assert.Equal("bad-gateway", body.GetProperty("error").GetString());
        Assert.Equal("a1", body.GetProperty("nodeId").GetString());
        var reason = body.GetProperty("reason").GetString()!;
        Assert.StartsWith("node 'a1' failed before answering: ", reason, StringComparison.Ordinal);
        Assert.EndsWith("; not retried: a POST request without an Idempotency-Key header may not be sent twice", reason, StringComparison.Ordinal);
        Assert.Equal(0, a2.Received);
    }

    [Fact]
    public async Task Post_WithIdempotencyKey_RetriedWithItsBodyIntact()
    {
        var a1 = await ShimAsync("a1", ShimBehavior.Abort);
        var a2 = await ShimAsync("a2");
        _gateway.Table.Update(TableOf(1, [new RouteCluster("a", 1, [Node("a1", "a", a1.Endpoint, 1), Node("a2", "a", a2.Endpoint, 2)])]));
        var payload = string.Concat(Enumerable.Repeat("0123456789abcdef", 16 * 1024));   // 256 KiB: past the in-memory buffer

        using var response = await SendAsync(HttpMethod.Post, "/v1/invoke/counter/add?by=2", payload, idempotencyKey: "k-1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("a2", Header(response, "X-Drover-Node"));
        Assert.Equal("POST /v1/invoke/counter/add?by=2\n" + payload, await response.Content.ReadAsStringAsync().WaitAsync(Bound));
        Assert.Equal(1, a1.Received);
    }

    [Fact]
    public async Task Get_RetryFailsToo_502NamingBothNodes()
    {
        var a2 = await ShimAsync("a2", ShimBehavior.Abort);
        _gateway.Table.Update(TableOf(1, [new RouteCluster("a", 1, [Node("a1", "a", DeadEndpoint(), 1), Node("a2", "a", a2.Endpoint, 2)])]));

        using var response = await SendAsync(HttpMethod.Get, "/v1/invoke/counter/");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var body = await JsonAsync(response);
        Assert.Equal("a2", body.GetProperty("nodeId").GetString());
        Assert.Equal(["a1", "a2"], body.GetProperty("nodes").EnumerateArray().Select(n => n.GetString()));
        var reason = body.GetProperty("reason").GetString()!;
        Assert.Contains("node 'a1' failed before answering", reason, StringComparison.Ordinal);
        Assert.Contains("retried on node 'a2', which failed before answering", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_OnlyNodeRefuses_502SayingNoOtherNodeCouldRetry()
    {
        _gateway.Table.Update(TableOf(1, [new RouteCluster("a", 1, [Node("a1", "a", DeadEndpoint())])]));

        using var response = await SendAsync(HttpMethod.Get, "/v1/invoke/counter/");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var reason = (await JsonAsync(response)).GetProperty("reason").GetString()!;
        Assert.Contains("no other node could take the retry: no surviving node of a serving cluster other than 'a1' has a ready instance of 'counter'", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Update_OtherNodes_RequestsGoToTheNewDestinations()
    {
        var a = await ShimAsync("a1");
        var b = await ShimAsync("b1");
        Assert.True(_gateway.Table.Update(TableOf(1, [new RouteCluster("a", 1, [Node("a1", "a", a.Endpoint)])])));
        using (var first = await SendAsync(HttpMethod.Post, "/v1/invoke/counter/"))
        {
            Assert.Equal("a1", Header(first, "X-Drover-Node"));
        }

        Assert.True(_gateway.Table.Update(TableOf(2, [new RouteCluster("b", 1, [Node("b1", "b", b.Endpoint)])])));
        Assert.False(_gateway.Table.Update(TableOf(1, [new RouteCluster("a", 1, [Node("a1", "a", a.Endpoint)])])));   // older: ignored

        using var second = await SendAsync(HttpMethod.Post, "/v1/invoke/counter/");
        Assert.Equal("b1", Header(second, "X-Drover-Node"));
        Assert.Equal("b", Header(second, "X-Drover-Cluster"));
        Assert.Equal(1, a.Received);
    }

    [Fact]
    public async Task Update_SameNodesNewShares_TakesTheNewShares()
    {
        var a = await ShimAsync("a1");
        var b = await ShimAsync("b1");
        RouteNode[] aNodes = [Node("a1", "a", a.Endpoint)];
        RouteNode[] bNodes = [Node("b1", "b", b.Endpoint)];
        _gateway.Table.Update(TableOf(1, [new RouteCluster("a", 1, aNodes), new RouteCluster("b", 0, bNodes)]));
        using (var first = await SendAsync(HttpMethod.Post, "/v1/invoke/counter/"))
        {
            Assert.Equal("a", Header(first, "X-Drover-Cluster"));
        }

        _gateway.Table.Update(TableOf(2, [new RouteCluster("a", 0, aNodes), new RouteCluster("b", 1, bNodes)]));

        using var second = await SendAsync(HttpMethod.Post, "/v1/invoke/counter/");
        Assert.Equal("b", Header(second, "X-Drover-Cluster"));
    }

    [Fact]
    public async Task Forward_PathQueryAndBody_ArriveIntact()
    {
        var a = await ShimAsync("a1");
        _gateway.Table.Update(TableOf(1, [new RouteCluster("a", 1, [Node("a1", "a", a.Endpoint)])]));

        using var response = await SendAsync(HttpMethod.Post, "/v1/invoke/counter/deep/path%20x/y?q=1&r=a%26b&q=2", "{\"n\":1}\r\nline two");

        Assert.Equal("POST /v1/invoke/counter/deep/path%20x/y?q=1&r=a%26b&q=2\n{\"n\":1}\r\nline two", await response.Content.ReadAsStringAsync().WaitAsync(Bound));
    }

    [Fact]
    public async Task Services_ExactlyTheServicesName_StaysWithTheApplicationsEndpoint()
    {
        var a = await ShimAsync("a1");
        _gateway.Table.Update(TableOf(1, [new RouteCluster("a", 1, [Node("a1", "a", a.Endpoint)])], workloads: "service/db"));

        using var management = await SendAsync(HttpMethod.Get, "/v1/services/db");
        using var routed = await SendAsync(HttpMethod.Get, "/v1/services/db/x");

        Assert.Equal("management db", await management.Content.ReadAsStringAsync().WaitAsync(Bound));
        Assert.Equal("a1", Header(routed, "X-Drover-Node"));
        Assert.Equal(1, a.Received);
    }

    [Fact]
    public async Task Services_PathOfAnApplicationEndpoint_ItsMethodStaysWithTheApplicationOthersReachTheGateway()
    {
        var a = await ShimAsync("a1");
        _gateway.Table.Update(TableOf(1, [new RouteCluster("a", 1, [Node("a1", "a", a.Endpoint)])], workloads: "service/db"));

        using var get = await SendAsync(HttpMethod.Get, "/v1/services/db/decisions");
        using var post = await SendAsync(HttpMethod.Post, "/v1/services/db/decisions", "x");

        Assert.Equal("decisions of db", await get.Content.ReadAsStringAsync().WaitAsync(Bound));
        Assert.Equal("POST /v1/services/db/decisions\nx", await post.Content.ReadAsStringAsync().WaitAsync(Bound));
    }

    [Fact]
    public async Task Load_RequestHeldByNode_CountedInFlightUntilAnswered()
    {
        var a = await ShimAsync("a1", ShimBehavior.Hold);
        _gateway.Table.Update(TableOf(1, [new RouteCluster("a", 1, [Node("a1", "a", a.Endpoint)])]));

        var pending = SendAsync(HttpMethod.Post, "/v1/invoke/counter/");
        await a.Held.WaitAsync(Bound);
        Assert.Equal(1, _gateway.Load.InFlight("counter"));
        Assert.Equal(1, _gateway.Load.NodeInFlight("a1"));
        Assert.Equal(0, _gateway.Load.Held("counter"));   // the node's shim has it: not counted twice
        a.Release();
        using var response = await pending;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, _gateway.Load.InFlight("counter"));
        Assert.Equal(0, _gateway.Load.NodeInFlight("a1"));
    }

    [Fact]
    public async Task Load_BusyNode_NextRequestGoesToTheIdleOne()
    {
        var a1 = await ShimAsync("a1", ShimBehavior.Hold);
        var a2 = await ShimAsync("a2");
        _gateway.Table.Update(TableOf(1, [new RouteCluster("a", 1, [Node("a1", "a", a1.Endpoint, 1), Node("a2", "a", a2.Endpoint, 2)])]));

        var pending = SendAsync(HttpMethod.Post, "/v1/invoke/counter/");   // draws 0: a1
        await a1.Held.WaitAsync(Bound);
        using (var second = await SendAsync(HttpMethod.Post, "/v1/invoke/counter/"))
        {
            Assert.Equal("a2", Header(second, "X-Drover-Node"));
        }

        a1.Release();
        using var first = await pending;
        Assert.Equal("a1", Header(first, "X-Drover-Node"));
    }
}
