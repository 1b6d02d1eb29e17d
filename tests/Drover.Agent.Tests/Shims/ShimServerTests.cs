using System.Net;
using System.Text;
using System.Text.Json;
using Drover.Agent.Shims;
using Drover.Protocol.Http;
using Drover.Protocol.Security;
using Drover.Protocol.V1;

namespace Drover.Agent.Tests.Shims;

/// <summary>The shim in the real agent host, forwarding to a real Kestrel standing in for the instance.</summary>
public sealed class ShimServerTests
{
    private static readonly TimeSpan Bound = ShimHarness.Bound;

    /// <summary>Mode http, public: these tests are about serving; who may call has its own tests below.</summary>
    private static ShimSpec Http(uint concurrency = 1, uint queue = 0) => new() { Mode = ShimMode.Http, Concurrency = concurrency, QueueLength = queue, Public = true };

    private static async Task<(ShimHarness Shim, EchoInstance Echo)> StartEchoAsync(ShimSpec shim, string instanceId = "echo-1", string function = "echo", WorkloadKind kind = WorkloadKind.Function)
    {
        var harness = await ShimHarness.StartAsync();
        var supervisor = await harness.StartInstanceAsync(instanceId, function, kind, shim, "/bin/sleep", "600");
        var echo = await EchoInstance.StartAsync(supervisor);
        await ShimHarness.WaitUntilAsync(() => supervisor.Traffic.Ready, "the instance is ready");
        return (harness, echo);
    }

    private static HttpRequestMessage Post(Uri url, string body = "", params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8) };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
        => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task Invoke_ReadyInstance_ForwardsRestOfPathQueryBodyAndCallId()
    {
        var (shim, echo) = await StartEchoAsync(Http());
        await using (shim)
        await using (echo)
        {
            using var response = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/echo/some/path?q=1&r=x"), "hello", ("X-Drover-Call-Id", "call-42"))).WaitAsync(Bound);
            var body = await JsonAsync(response);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("/some/path", body.GetProperty("path").GetString());
            Assert.Equal("?q=1&r=x", body.GetProperty("query").GetString());
            Assert.Equal("hello", body.GetProperty("body").GetString());
            Assert.Equal("call-42", body.GetProperty("callId").GetString());
            Assert.Equal(ShimHarness.NodeId, response.Headers.GetValues(DroverHeaders.Node).Single());
            Assert.Equal("echo-1", response.Headers.GetValues(DroverHeaders.Instance).Single());
            Assert.Equal("call-42", response.Headers.GetValues(DroverHeaders.CallId).Single());
            Assert.Equal([RequestStatus.Accepted, RequestStatus.Started, RequestStatus.Completed], shim.Events.StatusesOf("call-42"));
            var completed = shim.Events.Events.Single(e => e.CallId == "call-42" && e.Status == RequestStatus.Completed);
            Assert.Equal("function/echo", completed.Channel);
            Assert.Equal("/some/path?q=1&r=x", completed.Path);
            Assert.Equal(200U, completed.StatusCode);
            Assert.Equal("echo-1", completed.InstanceId);
            var report = shim.Instances.Find("echo-1")!.Report();
            Assert.True(report.Ready);
            Assert.Equal(WorkloadKind.Function, report.Kind);
        }
    }

    [Fact]
    public async Task Health_PathAnswers503_NeverReadyAndRequestsGet503()
    {
        await using var shim = await ShimHarness.StartAsync();
        var shimSpec = Http();
        shimSpec.HealthPath = "/unhealthy";
        var supervisor = await shim.StartInstanceAsync("sick-1", "sick", shimSpec, "/bin/sleep", "600");
        await using var echo = await EchoInstance.StartAsync(supervisor);

        await ShimHarness.WaitUntilAsync(() => echo.UnhealthyProbes >= 2, "the health path was probed twice");
        using var response = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/sick"))).WaitAsync(Bound);

        Assert.False(supervisor.Traffic.Ready);
        Assert.False(supervisor.Report().Ready);
        Assert.Equal(InstanceState.Running, supervisor.Report().State);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("no ready instance", (await JsonAsync(response)).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Invoke_EscapedCharactersInPath_StayInThePath()
    {
        var (shim, echo) = await StartEchoAsync(Http());
        await using (shim)
        await using (echo)
        {
            using var response = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/echo/a%3Fb/c%20d?x=%26"))).WaitAsync(Bound);
            var body = await JsonAsync(response);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("/a?b/c d", body.GetProperty("path").GetString());
            Assert.Equal("?x=%26", body.GetProperty("query").GetString());
        }
    }

    [Fact]
    public async Task Invoke_EventHeadersNamed_CopiedIntoStatusMessages()
    {
        var shimSpec = Http();
        shimSpec.EventHeaders.Add("X-Tenant");
        var (shim, echo) = await StartEchoAsync(shimSpec);
        await using (shim)
        await using (echo)
        {
            using var response = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/echo"), "", ("X-Tenant", "acme"), ("X-Other", "no"), ("X-Drover-Call-Id", "c-7"))).WaitAsync(Bound);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var events = shim.Events.Events.Where(e => e.CallId == "c-7").ToList();
            Assert.Equal(3, events.Count);
            Assert.All(events, e => Assert.Equal("acme", e.Headers["X-Tenant"]));
            Assert.All(events, e => Assert.False(e.Headers.ContainsKey("X-Other")));
            Assert.All(events, e => Assert.Equal(ShimHarness.NodeId, e.NodeId));
            Assert.Equal("POST", events[0].Method);
        }
    }

    [Fact]
    public async Task Invoke_InstanceKilledMidRequest_502NamesInstanceAndSignal()
    {
        var (shim, echo) = await StartEchoAsync(Http());
        await using (shim)
        await using (echo)
        {
            var pid = shim.Instances.Find("echo-1")!.CurrentPid;

            using var response = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/echo/die"))).WaitAsync(Bound);
            var body = await JsonAsync(response);

            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            Assert.Equal("echo-1", body.GetProperty("instanceId").GetString());
            Assert.Equal(ShimHarness.NodeId, body.GetProperty("nodeId").GetString());
            var reason = body.GetProperty("reason").GetString();
            Assert.Contains("instance 'echo-1'", reason);
            Assert.Contains($"its process {pid} was killed by signal 9", reason);
            Assert.Equal("echo-1", response.Headers.GetValues(DroverHeaders.Instance).Single());
            var callId = response.Headers.GetValues(DroverHeaders.CallId).Single();
            Assert.Equal([RequestStatus.Accepted, RequestStatus.Started, RequestStatus.Failed], shim.Events.StatusesOf(callId));
            Assert.Equal(502U, shim.Events.Events.Last(e => e.CallId == callId).StatusCode);
        }
    }

    [Fact]
    public async Task Invoke_SlotBusy_QueuesThen504PastTimeoutAnd429WhenFull()
    {
        var (shim, echo) = await StartEchoAsync(Http(concurrency: 1, queue: 1));
        await using (shim)
        await using (echo)
        {
            var held = shim.Client.SendAsync(Post(shim.Url("/v1/invoke/echo/hold")));
            await echo.Held.WaitAsync(Bound);

            // The queue has room for one: it waits there past its own timeout.
            using var timedOut = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/echo/late"), "", ("X-Drover-Timeout-Ms", "300"))).WaitAsync(Bound);
            var queued = shim.Client.SendAsync(Post(shim.Url("/v1/invoke/echo/queued")));
            var workload = shim.Instances.Find("echo-1")!;
            var gate = shim.Workloads.Find(WorkloadKey.Function("echo"))!.Gate;
            await ShimHarness.WaitUntilAsync(() => gate.Queued == 1, "the third request waits in the queue");
            using var rejected = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/echo/rejected"))).WaitAsync(Bound);

            Assert.Equal(HttpStatusCode.GatewayTimeout, timedOut.StatusCode);
            Assert.Contains("waited in the queue", (await JsonAsync(timedOut)).GetProperty("reason").GetString());
            Assert.Equal((HttpStatusCode)429, rejected.StatusCode);
            Assert.True(int.Parse(rejected.Headers.GetValues("Retry-After").Single()) >= 1);
            Assert.False(queued.IsCompleted);

            echo.Release();
            using var first = await held.WaitAsync(Bound);
            using var second = await queued.WaitAsync(Bound);
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
            Assert.True(workload.Traffic.Ready);

            var rejectedCall = rejected.Headers.GetValues(DroverHeaders.CallId).Single();
            Assert.Equal([RequestStatus.Accepted, RequestStatus.Failed], shim.Events.StatusesOf(rejectedCall));
            Assert.Equal(429U, shim.Events.Events.Last(e => e.CallId == rejectedCall).StatusCode);
            var stats = shim.Stats.Snapshot().Workloads.Single(w => w.Name == "echo");
            Assert.Equal(WorkloadKind.Function, stats.Kind);
            Assert.Equal(2UL, stats.Completed);
            Assert.Equal(2UL, stats.Failed);
            Assert.Equal(1UL, stats.Rejected);
            Assert.Equal(1UL, stats.TimedOut);
            Assert.Equal(0U, stats.Queued);
            Assert.Equal(0U, stats.InFlight);
            Assert.Equal(1U, stats.ReadyInstances);
            Assert.Equal(1U, stats.Concurrency);
            Assert.Equal(1U, stats.QueueLength);
            Assert.Equal(2UL, stats.Latency.Count);
            Assert.Equal(2UL, stats.Latency.Counts.Aggregate(0UL, (a, b) => a + b));
        }
    }

    [Fact]
    public async Task Start_PortInUse_FailsWithIOExceptionNamingTheAddress()
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        // AgentHost turns an IOException from the host's start into one line and exit 78.
        var ex = await Assert.ThrowsAsync<IOException>(() => ShimHarness.StartAsync(port));

        Assert.Contains($"127.0.0.1:{port}", ex.Message);
        Assert.Contains("address already in use", ex.Message);
    }

    [Fact]
    public async Task Invoke_UnknownOrInvalidFunction_503Or404()
    {
        await using var shim = await ShimHarness.StartAsync();

        // From the gateway (the fleet's credential): only the gateway learns that no instance runs here.
        using var unknown = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/nothing-here"), "", (DroverHeaders.ShimCredential, ShimHarness.Credential))).WaitAsync(Bound);
        using var invalid = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/Not_A_Name"))).WaitAsync(Bound);
        using var badCallId = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/nothing-here"), "", ("X-Drover-Call-Id", new string('x', 129)))).WaitAsync(Bound);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, unknown.StatusCode);
        Assert.Equal("1", unknown.Headers.GetValues("Retry-After").Single());
        Assert.Contains("function 'nothing-here' has no instance on node 'node-test'", (await JsonAsync(unknown)).GetProperty("reason").GetString());
        Assert.Equal(HttpStatusCode.NotFound, invalid.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badCallId.StatusCode);
        Assert.Equal(ShimHarness.NodeId, badCallId.Headers.GetValues(DroverHeaders.Node).Single());
    }

    [Fact]
    public async Task StopInstance_DrainTimeout_AnsweredAtOnce_WaitsForInFlightAndRefusesNew()
    {
        var (shim, echo) = await StartEchoAsync(Http(concurrency: 4));
        await using (shim)
        await using (echo)
        {
            var held = shim.Client.SendAsync(Post(shim.Url("/v1/invoke/echo/hold")));
            await echo.Held.WaitAsync(Bound);

            // The command is answered at once (the drain runs off the agent's command queue)...
            Assert.Null(await shim.Instances.StopAsync(new StopInstance { InstanceId = "echo-1", DrainTimeout = ShimHarness.Seconds(10) }).WaitAsync(Bound));
            Assert.True(shim.Instances.Find("echo-1")?.Traffic.Draining);
            using var refused = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/echo/new"))).WaitAsync(Bound);

            // ...new requests are refused, the one in flight finishes, and then the instance stops.
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(shim.Instances.Find("echo-1"));
            echo.Release();
            using var finished = await held.WaitAsync(Bound);
            Assert.Equal(HttpStatusCode.OK, finished.StatusCode);
            await ShimHarness.WaitUntilAsync(() => shim.Instances.Find("echo-1") is null, "the drained instance stops");
        }
    }

    [Fact]
    public async Task Services_RouteOnAnotherNode_ForwardedWithRouteInstanceAndServedThere()
    {
        var (shim, echo) = await StartEchoAsync(Http(concurrency: 2), "svc-1", "svc", WorkloadKind.Service);
        await using (shim)
        await using (echo)
        {
            // The "other node" is this node's own shim: the forward must arrive with the route's
            // instance named, and be served locally without being forwarded again.
            var routes = new SetServiceRoutes { Service = "svc", RoutesVersion = 1, Public = true };
            routes.Routes.Add(new ServiceRoute { InstanceId = "svc-1", NodeId = "other-node", Address = shim.EndPoint.ToString() });
            Assert.Null(shim.Routes.Apply(routes));

            using var request = new HttpRequestMessage(HttpMethod.Get, shim.Url("/v1/services/svc/items/7?full=1"));
            request.Headers.Add(DroverHeaders.CallId, "svc-call");
            using var response = await shim.Client.SendAsync(request).WaitAsync(Bound);
            var body = await JsonAsync(response);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("GET", body.GetProperty("method").GetString());
            Assert.Equal("/items/7", body.GetProperty("path").GetString());
            Assert.Equal("?full=1", body.GetProperty("query").GetString());
            Assert.Equal("", body.GetProperty("routeInstance").GetString());
            Assert.Equal("svc-1", response.Headers.GetValues(DroverHeaders.Instance).Single());

            // Reported once, by the hop that served it, not again by the one that relayed it.
            Assert.Equal([RequestStatus.Accepted, RequestStatus.Started, RequestStatus.Completed], shim.Events.StatusesOf("svc-call"));
            Assert.All(shim.Events.Events.Where(e => e.CallId == "svc-call"), e => Assert.Equal("service/svc", e.Channel));
        }
    }

    [Fact]
    public async Task Services_RouteToUnreachableNode_502NamesNode()
    {
        await using var shim = await ShimHarness.StartAsync();
        // Not public: a node with no instance of the service checks the key by the table's hashes.
        var routes = new SetServiceRoutes { Service = "svc", RoutesVersion = 3, KeySha256 = { InvocationKeys.HashOf("drk_svc") } };
        routes.Routes.Add(new ServiceRoute { InstanceId = "svc-9", NodeId = "far-node", Address = "127.0.0.1:9" });
        Assert.Null(shim.Routes.Apply(routes));
        using var noKey = await shim.Client.GetAsync(shim.Url("/v1/services/svc/x")).WaitAsync(Bound);
        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);

        using var keyed = new HttpRequestMessage(HttpMethod.Get, shim.Url("/v1/services/svc/x")) { Headers = { { DroverHeaders.ApiKey, "drk_svc" } } };
        using var response = await shim.Client.SendAsync(keyed).WaitAsync(Bound);
        var reason = (await JsonAsync(response)).GetProperty("reason").GetString();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("node 'far-node' at 127.0.0.1:9", reason);
        var callId = response.Headers.GetValues(DroverHeaders.CallId).Single();
        Assert.Equal([RequestStatus.Accepted, RequestStatus.Failed], shim.Events.StatusesOf(callId));
        Assert.Equal("svc-9", shim.Events.Events.Last(e => e.CallId == callId).InstanceId);
    }

    [Fact]
    public async Task Services_RouteInstanceHeaderForAbsentInstance_503NotForwarded()
    {
        await using var shim = await ShimHarness.StartAsync();
        var routes = new SetServiceRoutes { Service = "svc", RoutesVersion = 1 };
        routes.Routes.Add(new ServiceRoute { InstanceId = "svc-9", NodeId = "far-node", Address = "127.0.0.1:9" });
        shim.Routes.Apply(routes);
        using var request = new HttpRequestMessage(HttpMethod.Get, shim.Url("/v1/services/svc/x"));
        request.Headers.Add(DroverHeaders.RouteInstance, "svc-9");
        request.Headers.Add(DroverHeaders.ShimCredential, ShimHarness.Credential);

        using var response = await shim.Client.SendAsync(request).WaitAsync(Bound);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("does not run on node 'node-test'", (await JsonAsync(response)).GetProperty("reason").GetString());
    }

    /// <summary>
    /// A function that is not public, called straight at the node's shim: without a key 401, with a key
    /// of something else (or made up) 403, neither reaching the instance; with one of its keys, or from
    /// the gateway (the fleet's credential), served, and the instance sees neither secret.
    /// </summary>
    [Fact]
    [Trait("Category", "Attacks")]
    public async Task Invoke_PrivateFunction_OnlyItsKeyOrTheFleetCredentialIsServed()
    {
        const string key = "drk_the-function-key";
        var spec = new ShimSpec { Mode = ShimMode.Http, Concurrency = 2 };
        spec.KeySha256.Add(InvocationKeys.HashOf(key));
        var (shim, echo) = await StartEchoAsync(spec);
        await using (shim)
        await using (echo)
        {
            using var none = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/echo"), "", ("X-Drover-Call-Id", "no-key"))).WaitAsync(Bound);
            using var wrong = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/echo"), "", (DroverHeaders.ApiKey, "drk_guessed"), ("X-Drover-Call-Id", "wrong-key"))).WaitAsync(Bound);
            using var empty = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/echo"), "", (DroverHeaders.ApiKey, ""))).WaitAsync(Bound);
            using var withKey = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/echo"), "", (DroverHeaders.ApiKey, key))).WaitAsync(Bound);
            using var fromGateway = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/echo"), "", (DroverHeaders.ShimCredential, ShimHarness.Credential))).WaitAsync(Bound);

            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
            Assert.Contains("needs a key in X-Drover-Api-Key", (await JsonAsync(none)).GetProperty("reason").GetString());
            Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, empty.StatusCode);
            Assert.Empty(shim.Events.StatusesOf("no-key")); // refused before it is a call
            Assert.Empty(shim.Events.StatusesOf("wrong-key"));
            Assert.Equal(HttpStatusCode.OK, withKey.StatusCode);
            var seen = await JsonAsync(withKey);
            Assert.Equal("", seen.GetProperty("apiKey").GetString());
            Assert.Equal(HttpStatusCode.OK, fromGateway.StatusCode);
            Assert.Equal("", (await JsonAsync(fromGateway)).GetProperty("shimCredential").GetString());
            Assert.Equal(2, shim.Events.Events.Count(e => e.Status == RequestStatus.Completed)); // the two served, no other
        }
    }

    /// <summary>
    /// The same refusal for a function with no instance here as for a private one: a caller without the
    /// fleet's credential learns nothing about what runs on the node.
    /// </summary>
    [Fact]
    [Trait("Category", "Attacks")]
    public async Task Invoke_UnknownFunctionWithoutCredential_401LikeAPrivateOne()
    {
        await using var shim = await ShimHarness.StartAsync();

        using var unknown = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/nothing-here"))).WaitAsync(Bound);
        using var keyed = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/nothing-here"), "", (DroverHeaders.ApiKey, "drk_any"))).WaitAsync(Bound);

        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.DoesNotContain("no instance", (await JsonAsync(unknown)).GetProperty("reason").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, keyed.StatusCode);
    }

    /// <summary>A client that names an instance to pin itself to it, with no credential or a made-up one: refused, and the instance never sees the call.</summary>
    [Theory]
    [Trait("Category", "Attacks")]
    [InlineData(null)]
    [InlineData("guessed")]
    [InlineData("")]
    public async Task Services_RouteInstanceHeaderWithoutTheShimCredential_403AndNotServed(string? credential)
    {
        var (shim, echo) = await StartEchoAsync(Http(concurrency: 2), "svc-1", "svc", WorkloadKind.Service);
        await using (shim)
        await using (echo)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, shim.Url("/v1/services/svc/x"));
            request.Headers.Add(DroverHeaders.RouteInstance, "svc-1");
            request.Headers.Add(DroverHeaders.CallId, "pinned");
            if (credential is not null)
            {
                request.Headers.Add(DroverHeaders.ShimCredential, credential);
            }

            using var response = await shim.Client.SendAsync(request).WaitAsync(Bound);

            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Contains("is honoured only from another node's shim", (await JsonAsync(response)).GetProperty("reason").GetString());
            Assert.Equal([RequestStatus.Accepted, RequestStatus.Failed], shim.Events.StatusesOf("pinned"));
        }
    }

    [Fact]
    public async Task Stdio_CatEcho_BodyBackThenNewline()
    {
        await using var shim = await ShimHarness.StartAsync();
        var supervisor = await shim.StartInstanceAsync("cat-1", "cat", new ShimSpec { Mode = ShimMode.Stdio, Concurrency = 2, Public = true }, "/bin/sh", "-c", "cat; echo");
        await ShimHarness.WaitUntilAsync(() => supervisor.Traffic.Ready, "the stdio instance is ready");

        using var binary = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/cat"), "hello")).WaitAsync(Bound);
        var text = Post(shim.Url("/v1/invoke/cat"), "world");
        text.Headers.Accept.ParseAdd("text/plain");
        using var textual = await shim.Client.SendAsync(text).WaitAsync(Bound);

        Assert.Equal(HttpStatusCode.OK, binary.StatusCode);
        Assert.Equal("hello\n", await binary.Content.ReadAsStringAsync());
        Assert.Equal("application/octet-stream", binary.Content.Headers.ContentType!.MediaType);
        Assert.Equal("world\n", await textual.Content.ReadAsStringAsync());
        Assert.Equal("text/plain", textual.Content.Headers.ContentType!.MediaType);
        Assert.Equal(InstanceState.Running, supervisor.Report().State);
        Assert.Equal("stdio: one process per request", supervisor.Report().Reason);
        Assert.Equal(0, supervisor.Report().Pid);
    }

    [Fact]
    public async Task Stdio_NonZeroExit_502WithCodeAndFirstStderrLine()
    {
        await using var shim = await ShimHarness.StartAsync();
        var supervisor = await shim.StartInstanceAsync("fail-1", "fail", new ShimSpec { Mode = ShimMode.Stdio, Public = true }, "/bin/sh", "-c", "cat >/dev/null; echo 'no luck' >&2; echo second >&2; exit 3");
        await ShimHarness.WaitUntilAsync(() => supervisor.Traffic.Ready, "the stdio instance is ready");

        using var response = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/fail"), "x")).WaitAsync(Bound);
        var reason = (await JsonAsync(response)).GetProperty("reason").GetString();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("instance 'fail-1'", reason);
        Assert.Contains("exited with code 3: no luck", reason);
        Assert.Contains("second", await File.ReadAllTextAsync(supervisor.Directory.OutputLog));
    }

    [Fact]
    public async Task Stdio_RunsPastTimeout_Killed504()
    {
        await using var shim = await ShimHarness.StartAsync();
        var supervisor = await shim.StartInstanceAsync("slow-1", "slow", new ShimSpec { Mode = ShimMode.Stdio, Public = true }, "/bin/sh", "-c", "sleep 30");
        await ShimHarness.WaitUntilAsync(() => supervisor.Traffic.Ready, "the stdio instance is ready");

        using var response = await shim.Client.SendAsync(Post(shim.Url("/v1/invoke/slow"), "", ("X-Drover-Timeout-Ms", "200"))).WaitAsync(Bound);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Contains("was killed", (await JsonAsync(response)).GetProperty("reason").GetString());
    }
}
