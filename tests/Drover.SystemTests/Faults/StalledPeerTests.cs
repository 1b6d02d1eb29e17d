using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Grpc.Core;
using Xunit.Abstractions;

namespace Drover.SystemTests.Faults;

/// <summary>
/// Issue 13, "no peer can stall the aggregator", end to end: a node on the link (the generated client
/// playing an agent) in the fleet's cluster subscribes to <c>function/counter</c> and floods it, then
/// reads its stream not at all, or slowly, while the fleet places new every-node functions. The real
/// nodes' instances start regardless, the aggregator stays up, and a peer that stopped reading is cut
/// off and gets what it missed once it reconnects and reads.
/// </summary>
/// <remarks>
/// The probe timeout is raised so that the stalled peer keeps surviving (fresh heartbeats) and so is
/// given a start of each new function: the send that used to wait on it for good.
/// </remarks>
[Trait("Category", "Faults")]
public sealed class StalledPeerTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly Fleet _fleet = new(output);
    private ChildProcess _aggregator = null!;

    public async Task InitializeAsync()
    {
        _aggregator = _fleet.StartAggregator("--linkSendTimeoutMs", "2000", "--probeTimeoutMs", "60000");
        await _fleet.WaitForAggregatorAsync();
        _fleet.StartAgent("a1", serverNumber: 1);
        _fleet.StartAgent("a2", serverNumber: 2);
        await _fleet.WaitForAliveCountAsync(2, Timeout);
        await DefineAsync("counter");
        await WaitForRunningAsync("counter", [_fleet.NodeIdOf("a1"), _fleet.NodeIdOf("a2")]);
    }

    public async Task DisposeAsync() => await _fleet.DisposeAsync();

    [Fact]
    public async Task PeerThatNeverReads_NewFunctionsStartOnTheRealNodes_ThenThePeerIsCutOffAndCatchesUpOnReconnect()
    {
        var peer = await LinkPeer.ConnectAsync(_fleet.LinkAddress, "stalled", 99, 7499);
        try
        {
            await FloodAsync(peer);

            foreach (var function in new[] { "second", "third" })
            {
                await DefineAsync(function);
                await WaitForRunningAsync(function, [_fleet.NodeIdOf("a1"), _fleet.NodeIdOf("a2")]);
            }

            await Fleet.WaitUntilAsync(
                () => Task.FromResult(_aggregator.Output.Contains("The stream of node 'stalled' was aborted", StringComparison.Ordinal)),
                Timeout,
                "the aggregator aborts the stream of the peer that does not read");
            await AssertAggregatorUpAsync();
        }
        finally
        {
            await peer.DisposeAsync();
        }

        // Back, reading like an agent: the starts it missed reach it on its new stream.
        await using var back = await LinkPeer.ConnectAsync(_fleet.LinkAddress, "stalled", 99, 7499);
        back.StartReading(TimeSpan.Zero);
        await Fleet.WaitUntilAsync(
            () => Task.FromResult(back.Started.ContainsKey("second") && back.Started.ContainsKey("third")),
            Timeout,
            "the reconnected peer is sent the starts of 'second' and 'third'",
            () => Task.FromResult(string.Join(", ", back.Started.Keys)));
        await AssertAggregatorUpAsync();
    }

    [Fact]
    public async Task PeerThatReadsAFewMessagesASecond_NewFunctionsStartOnTheRealNodes()
    {
        await using var peer = await LinkPeer.ConnectAsync(_fleet.LinkAddress, "slow", 98, 7498);
        await FloodAsync(peer);
        peer.StartReading(TimeSpan.FromMilliseconds(300));

        foreach (var function in new[] { "second", "third" })
        {
            await DefineAsync(function);
            await WaitForRunningAsync(function, [_fleet.NodeIdOf("a1"), _fleet.NodeIdOf("a2")]);
        }

        await AssertAggregatorUpAsync();
        output.WriteLine($"The slow peer read {peer.Read} messages.");
    }

    /// <summary>
    /// With a peer in c1 that reads a few messages a second, or never reads (and without one, for the
    /// figures to compare): an autoscaled function raised to two instances gets them on the real
    /// nodes, and c1, its two real nodes killed, fails over to c2. The times print; the outcomes are asserted.
    /// </summary>
    [Theory]
    [InlineData("slow")]
    [InlineData("never")]
    [InlineData("none")]
    public async Task PeerThatReadsSlowlyOrNever_AScaleUpAndAClusterFailoverHappenRegardless(string peerReads)
    {
        _fleet.StartAgent("b1", serverNumber: 11, cluster: "c2");
        await _fleet.WaitForAliveCountAsync(3, Timeout);
        await using var peer = peerReads == "none" ? null : await LinkPeer.ConnectAsync(_fleet.LinkAddress, "peer", 98, 7498);
        if (peer is not null)
        {
            await FloodAsync(peer);
            if (peerReads == "slow")
            {
                peer.StartReading(TimeSpan.FromMilliseconds(300));
            }
        }

        var with = peerReads == "none" ? "Without a peer" : $"With a peer that reads {(peerReads == "slow" ? "every 0.3 s" : "nothing")}";
        // Scale: one instance, then two; both on real nodes (the peer reports no GPU).
        await DefineAutoscaledAsync(min: 1);
        await WaitForRunningCountAsync("scaled", 1);
        var clock = Stopwatch.StartNew();
        await DefineAutoscaledAsync(min: 2);
        await WaitForRunningCountAsync("scaled", 2);
        output.WriteLine($"{with}: the second instance of 'scaled' ran {clock.ElapsedMilliseconds} ms after the minimum was raised.");

        // Failover: c1 loses its two real nodes (with the peer, 1 of 3 survives while it heartbeats).
        clock.Restart();
        _fleet.AgentProcesses("a1").Kill();
        _fleet.AgentProcesses("a2").Kill();
        var describe = async () => (await _fleet.Http.GetStringAsync("/v1/clusters"));
        await Fleet.WaitUntilAsync(
            async () =>
            {
                var clusters = (await _fleet.Http.GetFromJsonAsync<JsonElement>("/v1/clusters")).GetProperty("clusters").EnumerateArray();
                return clusters.Any(c => c.GetProperty("name").GetString() == "c1"
                    && c.GetProperty("health").GetString() == "unhealthy"
                    && c.GetProperty("servedBy").EnumerateArray().Any(b => b.GetString() == "c2"));
            },
            Timeout,
            "c1 fails over to c2",
            describe);
        output.WriteLine($"{with}: c1 was served by c2 {clock.ElapsedMilliseconds} ms after its real nodes were killed.");
        await AssertAggregatorUpAsync();
    }

    private async Task DefineAutoscaledAsync(int min)
    {
        var definition = new { runtime = new { type = "process", command = Repository.Counter }, commitIntervalSeconds = 0, minInstances = min, maxInstances = 3, slo = 1000 };
        using var response = await _fleet.Http.PutAsJsonAsync("/v1/functions/scaled", definition);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task WaitForRunningCountAsync(string function, int count)
    {
        async Task<JsonElement[]> InstancesAsync()
            => await _fleet.Http.GetFromJsonAsync<JsonElement[]>($"/v1/functions/{function}/instances") ?? [];

        await Fleet.WaitUntilAsync(
            async () => (await InstancesAsync()).Count(i => i.GetProperty("state").GetString() == "running") == count,
            Timeout,
            $"'{function}' runs {count} instances",
            async () => JsonSerializer.Serialize(await InstancesAsync()));
    }

    /// <summary>Subscribes the peer to <c>function/counter</c> and publishes there far more than its stream and outbox hold.</summary>
    private async Task FloodAsync(LinkPeer peer)
    {
        await peer.SubscribeAsync("function/counter");
        var clock = Stopwatch.StartNew();
        var published = 0;
        try
        {
            for (; published < 1500; published++)
            {
                await peer.PublishAsync(published);
            }
        }
        catch (RpcException ex)
        {
            // Cut off already: the flood did its work.
            output.WriteLine($"Publishing stopped after {published} messages: {ex.Status}");
        }

        output.WriteLine($"Published {published} status messages of 4 KiB in {clock.ElapsedMilliseconds} ms.");
    }

    private async Task DefineAsync(string name)
    {
        var definition = new { runtime = new { type = "process", command = Repository.Counter }, commitIntervalSeconds = 0 };
        using var response = await _fleet.Http.PutAsJsonAsync($"/v1/functions/{name}", definition);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Waits (bounded, generously for a loaded machine) until the function has a running instance on each of <paramref name="nodeIds"/>.</summary>
    private async Task WaitForRunningAsync(string function, string[] nodeIds)
    {
        async Task<JsonElement[]> InstancesAsync()
            => await _fleet.Http.GetFromJsonAsync<JsonElement[]>($"/v1/functions/{function}/instances") ?? [];

        var took = await Fleet.WaitUntilAsync(
            async () =>
            {
                var running = (await InstancesAsync())
                    .Where(i => i.GetProperty("state").GetString() == "running")
                    .Select(i => i.GetProperty("nodeId").GetString())
                    .ToHashSet(StringComparer.Ordinal);
                return nodeIds.All(running.Contains);
            },
            Timeout,
            $"'{function}' runs on {string.Join(", ", nodeIds)}",
            async () => JsonSerializer.Serialize(await InstancesAsync()));

        // The figure to compare with and without a stalled peer; a figure, not an assertion.
        output.WriteLine($"'{function}' ran on every real node {took.TotalMilliseconds:0} ms after it was defined.");
    }

    private async Task AssertAggregatorUpAsync()
    {
        Assert.False(_aggregator.HasExited, "the aggregator exited");
        using var response = await _fleet.Http.GetAsync("/v1/nodes");
        Assert.True(response.IsSuccessStatusCode, string.Create(CultureInfo.InvariantCulture, $"GET /v1/nodes answered {(int)response.StatusCode}"));
    }
}
