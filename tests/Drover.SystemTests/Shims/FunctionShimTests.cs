using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Shims;

/// <summary>
/// Functions behind the real agents' shims: both modes, the common headers, the per-node queue's 429
/// and 504, and an instance SIGKILLed in the middle of a request.
/// </summary>
public sealed class FunctionShimTests(ITestOutputHelper output) : ShimTestBase(output)
{
    [Fact]
    public async Task InvokeHttpMode_OnEveryNode_AnswersFromItsInstanceWithTheCommonHeaders()
    {
        await StartAgentsAsync(2);
        await PutAsync("/v1/functions/counter", Counter());
        await WaitForReadyAsync("/v1/functions/counter", 2);
        var instances = (await GetAsync("/v1/functions/counter")).GetProperty("instances").EnumerateArray()
            .ToDictionary(i => i.GetProperty("nodeId").GetString()!, i => i.GetProperty("instanceId").GetString()!);

        foreach (var (nodeId, port) in Ports)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/v1/invoke/counter");
            request.Headers.Add("X-Drover-Call-Id", $"call-{nodeId}");
            using var response = await Client.SendAsync(request);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(nodeId, response.Headers.GetValues("X-Drover-Node").Single());
            Assert.Equal(instances[nodeId], response.Headers.GetValues("X-Drover-Instance").Single());
            Assert.Equal($"call-{nodeId}", response.Headers.GetValues("X-Drover-Call-Id").Single());
            Assert.Equal(instances[nodeId], (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("instanceId").GetString());
        }

        // What GET shows (the definition with its live state) can be written back as it is.
        var document = await GetAsync("/v1/functions/counter");
        using (var put = await Fleet.Http.PutAsync("/v1/functions/counter", new StringContent(document.GetRawText(), Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        // HTTP/2 on the same port, by prior knowledge (h2c), as a gateway or a gRPC-style client sends it.
        using (var h2c = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{Ports.Values.First()}/v1/invoke/counter") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact })
        using (var response = await Client.SendAsync(h2c))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(HttpVersion.Version20, response.Version);
            Assert.True(response.Headers.Contains("X-Drover-Instance"));
        }

        // Without a call id the shim makes one.
        using var anonymous = await Client.PostAsync($"http://127.0.0.1:{Ports.Values.First()}/v1/invoke/counter", null);
        Assert.False(string.IsNullOrEmpty(anonymous.Headers.GetValues("X-Drover-Call-Id").Single()));
    }

    [Fact]
    public async Task InvokeStdioMode_BodyOnStdinAnswerFromStdout()
    {
        await StartAgentsAsync(1);
        await PutAsync("/v1/functions/upper", new
        {
            runtime = new { type = "process", command = "/bin/sh", args = new[] { "-c", "tr a-z A-Z" } },
            @public = true,
            shimMode = "stdio",
            commitIntervalSeconds = 0,
        });
        await WaitForReadyAsync("/v1/functions/upper", 1);

        using var response = await Client.PostAsync($"http://127.0.0.1:{Ports.Values.Single()}/v1/invoke/upper", new StringContent("hello, drover", Encoding.UTF8));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("HELLO, DROVER", await response.Content.ReadAsStringAsync());
        Assert.True(response.Headers.Contains("X-Drover-Instance"));
    }

    [Fact]
    public async Task TwentyConcurrentSlowRequests_SloOneQueueFour_Some429WithRetryAfterAndNo5xx()
    {
        await StartAgentsAsync(1);
        await PutAsync("/v1/functions/counter", Counter(slo: 1, queueLength: 4));
        await WaitForReadyAsync("/v1/functions/counter", 1);
        var port = Ports.Values.Single();

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Client.PostAsync($"http://127.0.0.1:{port}/v1/invoke/counter?sleepMs=400", null)));

        var codes = responses.Select(r => (int)r.StatusCode).ToArray();
        Output.WriteLine(string.Join(",", codes));
        Assert.DoesNotContain(codes, c => c >= 500);
        Assert.Contains(codes, c => c == 429);
        Assert.InRange(codes.Count(c => c == 200), 5, 20);
        var rejected = responses.First(r => r.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.True(rejected.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "429 carries Retry-After in whole seconds");

        // The node reported its counters to the aggregator: completed and rejected add up to the twenty.
        await Fleet.WaitUntilAsync(
            async () =>
            {
                var node = (await GetAsync("/v1/functions/counter")).GetProperty("nodes").EnumerateArray().Single();
                return node.GetProperty("completed").GetInt64() + node.GetProperty("rejected").GetInt64() == 20;
            },
            Timeout,
            "the node's counters reach the aggregator",
            async () => (await GetAsync("/v1/functions/counter")).ToString());
    }

    [Fact]
    public async Task QueuedPastItsTimeout_504_AndTheQueueLengthIsVisibleMeanwhile()
    {
        await StartAgentsAsync(1);
        await PutAsync("/v1/functions/counter", Counter(slo: 1, queueLength: 4));
        await WaitForReadyAsync("/v1/functions/counter", 1);
        var port = Ports.Values.Single();

        var slow = Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Client.PostAsync($"http://127.0.0.1:{port}/v1/invoke/counter?sleepMs=3000", null)));
        await Fleet.WaitUntilAsync(
            async () => (await GetAsync("/v1/functions/counter")).GetProperty("requestQueueLength").GetInt64() == 3,
            Timeout,
            "the request queue length is 3 (1 in flight, 2 queued)");

        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/v1/invoke/counter");
        request.Headers.Add("X-Drover-Timeout-Ms", "300");
        using var timedOut = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.GatewayTimeout, timedOut.StatusCode);
        Assert.All(await slow, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
    }

    [Fact]
    public async Task InstanceSigkilledMidRequest_502NamingTheInstance_ThenRestarted()
    {
        await StartAgentsAsync(1);
        await PutAsync("/v1/functions/counter", Counter());
        await WaitForReadyAsync("/v1/functions/counter", 1);
        var port = Ports.Values.Single();
        var instance = (await GetAsync("/v1/functions/counter")).GetProperty("instances").EnumerateArray().Single();
        var instanceId = instance.GetProperty("instanceId").GetString()!;

        var slow = Client.PostAsync($"http://127.0.0.1:{port}/v1/invoke/counter?sleepMs=10000", null);
        await Fleet.WaitUntilAsync(
            async () => (await GetAsync("/v1/functions/counter")).GetProperty("inFlight").GetInt64() == 1,
            Timeout,
            "the slow request is in flight");
        using (var process = Process.GetProcessById(instance.GetProperty("pid").GetInt32()))
        {
            process.Kill();
        }

        using var failed = await slow;
        var body = await failed.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        Assert.Contains(instanceId, body, StringComparison.Ordinal);
        Assert.Equal(instanceId, failed.Headers.GetValues("X-Drover-Instance").Single());

        await WaitForReadyAsync("/v1/functions/counter", 1, i => i.GetProperty("restarts").GetInt32() == 1);
        using var again = await Client.PostAsync($"http://127.0.0.1:{port}/v1/invoke/counter", null);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }
}
