using System.Net.Http.Json;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Shims;

/// <summary>
/// Status messages of real requests: read by an SSE client of the aggregator (and resumed after a
/// reconnect) and by another instance of the set over its agent's local socket, in order, no gap.
/// </summary>
public sealed class StatusEventTests(ITestOutputHelper output) : ShimTestBase(output)
{
    private static int Count(List<(string Id, JsonElement Data)> events, string status) => events.Count(e => e.Data.GetProperty("status").GetString() == status);

    private async Task InvokeAsync(int port, int count, string prefix)
    {
        for (var i = 0; i < count; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/v1/invoke/counter");
            request.Headers.Add("X-Drover-Call-Id", $"{prefix}-{i}");
            using var response = await Client.SendAsync(request);
            response.EnsureSuccessStatusCode();
        }
    }

    private static void AssertNoGap(IEnumerable<long> sequences, long from)
    {
        var expected = from;
        foreach (var sequence in sequences)
        {
            Assert.Equal(expected++, sequence);
        }
    }

    [Fact]
    public async Task EveryRequest_StartedAndCompletedInOrder_ForAnSseClientAndAnotherInstance_ResumedAfterReconnect()
    {
        await StartAgentsAsync(2);
        await PutAsync("/v1/functions/counter", Counter(env: "COUNTER_SUBSCRIBE=1"));
        await WaitForReadyAsync("/v1/functions/counter", 2);
        var instances = (await GetAsync("/v1/functions/counter")).GetProperty("instances").EnumerateArray().ToArray();
        var (entryNode, entryPort) = Ports.First();
        var other = instances.Single(i => i.GetProperty("nodeId").GetString() != entryNode);

        // First half, read live.
        var reading = ReadEventsAsync("function=counter", null, e => Count(e, "completed") >= 10);
        await Task.Delay(300);
        await InvokeAsync(entryPort, 10, "first");
        var first = await reading;

        // Second half while no client listens; the reconnecting client resumes after its last id.
        await InvokeAsync(entryPort, 10, "second");
        var second = await ReadEventsAsync("function=counter", first[^1].Id, e => Count(e, "completed") >= 10);

        var all = first.Concat(second).ToList();
        AssertNoGap(all.Select(e => e.Data.GetProperty("sequence").GetInt64()), all[0].Data.GetProperty("sequence").GetInt64());
        foreach (var call in Enumerable.Range(0, 10).SelectMany(i => new[] { $"first-{i}", $"second-{i}" }))
        {
            var statuses = all.Where(e => e.Data.GetProperty("callId").GetString() == call).Select(e => e.Data.GetProperty("status").GetString()!).ToArray();
            Assert.Equal(["accepted", "started", "completed"], statuses);
        }

        // The instance on the other node received the same messages over its local socket.
        var otherPort = other.GetProperty("port").GetInt32();
        JsonElement[] received = [];
        await Fleet.WaitUntilAsync(
            async () =>
            {
                received = await Client.GetFromJsonAsync<JsonElement[]>($"http://127.0.0.1:{otherPort}/events") ?? [];
                return received.Count(e => e.GetProperty("status").GetString() == "completed") >= 20;
            },
            Timeout,
            "the other instance received every completed message",
            async () => JsonSerializer.Serialize(await Client.GetFromJsonAsync<JsonElement[]>($"http://127.0.0.1:{otherPort}/events")));
        AssertNoGap(received.Select(e => e.GetProperty("sequence").GetInt64()), received[0].GetProperty("sequence").GetInt64());
        var bySequence = received.ToDictionary(e => e.GetProperty("sequence").GetInt64(), e => e.GetProperty("callId").GetString());
        Assert.All(all, e => Assert.Equal(e.Data.GetProperty("callId").GetString(), bySequence[e.Data.GetProperty("sequence").GetInt64()]));
    }

    [Fact]
    public async Task ABurstOfConcurrentRequests_EveryStatusOnceInOrderWithoutGap()
    {
        // 32 callers at once, 10 calls each: the shim's status messages pile up behind the link's writer, which sends
        // them several to a message (StatusEvents); the channel must still number every one, once, in order.
        await StartAgentsAsync(1);
        await PutAsync("/v1/functions/counter", Counter(slo: 64, queueLength: 512));
        await WaitForReadyAsync("/v1/functions/counter", 1);
        var port = Ports.Values.Single();
        const int Callers = 32, Calls = 10;
        var reading = ReadEventsAsync("function=counter", null, e => Count(e, "completed") >= Callers * Calls);
        await Task.Delay(300);
        await Task.WhenAll(Enumerable.Range(0, Callers).Select(c => InvokeAsync(port, Calls, $"burst{c}")));
        var all = await reading;

        AssertNoGap(all.Select(e => e.Data.GetProperty("sequence").GetInt64()), all[0].Data.GetProperty("sequence").GetInt64());
        var byCall = all.GroupBy(e => e.Data.GetProperty("callId").GetString()!).ToDictionary(g => g.Key, g => g.Select(e => e.Data.GetProperty("status").GetString()!).ToArray());
        Assert.Equal(Callers * Calls, byCall.Count);
        Assert.All(byCall.Values, statuses => Assert.Equal(["accepted", "started", "completed"], statuses));
    }
}
