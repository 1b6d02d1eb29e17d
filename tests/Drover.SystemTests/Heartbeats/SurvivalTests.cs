using System.Diagnostics;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Heartbeats;

/// <summary>The real aggregator and real agents on loopback: heartbeats, loss by SIGKILL, return, refusals.</summary>
public sealed class SurvivalTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private readonly Fleet _fleet = new(output);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _fleet.DisposeAsync();

    [Fact]
    public async Task KilledAgent_IsLostAfterItsLease_AndAliveAgainUnderSameIdAfterRestart()
    {
        _fleet.StartAggregator();
        _fleet.StartAgent("a1", serverNumber: 1);
        var victim = _fleet.StartAgent("a2", serverNumber: 2);
        await _fleet.WaitForAliveCountAsync(2, StartTimeout);
        var victimId = _fleet.NodeIdOf("a2");
        var survivorId = _fleet.NodeIdOf("a1");

        var killedAt = Stopwatch.StartNew();
        victim.Kill();
        await _fleet.WaitForSurvivalAsync(victimId, "lost", StartTimeout);
        var lostAfter = killedAt.Elapsed;

        // Default heartbeat interval 1 s, 3 missed: never lost before its lease of 3 s ran out. How soon
        // after is LivenessMonitorTests' to pin on a fake clock; a loaded machine only adds to it here.
        output.WriteLine($"lost {lostAfter.TotalMilliseconds:0} ms after the kill");
        var lost = (await _fleet.NodeAsync(victimId))!.Value;
        Assert.True(lost.GetProperty("lastHeartbeatAgeMs").GetInt64() >= 3000, $"lost before its lease ran out: {lost}");
        Assert.Equal("alive", (await _fleet.NodeAsync(survivorId))!.Value.GetProperty("survival").GetString());

        _fleet.StartAgent("a2", serverNumber: 2);
        await _fleet.WaitForSurvivalAsync(victimId, "alive", StartTimeout);

        var nodes = await _fleet.NodesAsync();
        Assert.Equal(2, nodes.Length);
        Assert.Equal(victimId, _fleet.NodeIdOf("a2"));
        var back = nodes.Single(n => n.GetProperty("nodeId").GetString() == victimId);
        Assert.Equal(2, back.GetProperty("serverNumber").GetInt32());
        Assert.Equal("c1", back.GetProperty("cluster").GetString());
    }

    [Fact]
    public async Task DuplicateServerNumber_SecondAgentIsRefusedNamingTheField()
    {
        _fleet.StartAggregator();
        _fleet.StartAgent("first", serverNumber: 7);
        await _fleet.WaitForAliveCountAsync(1, StartTimeout);

        var duplicate = _fleet.StartAgent("second", serverNumber: 7);
        await Fleet.WaitUntilAsync(
            () => Task.FromResult(duplicate.Output.Contains("refused this node (AlreadyExists)", StringComparison.Ordinal)),
            StartTimeout,
            "the duplicate agent logs its refusal",
            () => Task.FromResult(duplicate.Output));

        Assert.Contains("hello.serverNumber", duplicate.Output, StringComparison.Ordinal);
        var node = Assert.Single(await _fleet.NodesAsync());
        Assert.Equal(_fleet.NodeIdOf("first"), node.GetProperty("nodeId").GetString());
        Assert.False(duplicate.HasExited, "a refused agent keeps retrying rather than exiting");
    }

    [Fact]
    public async Task CleanStop_IsReportedStoppingThenLost()
    {
        _fleet.StartAggregator();
        var agent = _fleet.StartAgent("a1", serverNumber: 1);
        await _fleet.WaitForAliveCountAsync(1, StartTimeout);
        var id = _fleet.NodeIdOf("a1");

        // Watch from before the stop: the stopping state lasts only until the lease runs out, and an
        // agent that is slow to exit on a loaded machine may take longer than that.
        var seen = new List<string>();
        using var bound = new CancellationTokenSource(StartTimeout);
        var watching = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watcher = Task.Run(async () =>
        {
            while (seen.LastOrDefault() != "lost" && !bound.IsCancellationRequested)
            {
                if ((await _fleet.NodeAsync(id))?.GetProperty("survival").GetString() is { } state && seen.LastOrDefault() != state)
                {
                    seen.Add(state); // only this task writes it, and it is read once this task has ended
                    watching.TrySetResult();
                }

                await Task.Delay(20, CancellationToken.None);
            }
        });

        await watching.Task.WaitAsync(StartTimeout);
        agent.Terminate();
        var exitCode = await agent.WaitForExitAsync(TimeSpan.FromSeconds(30));
        await watcher;

        Assert.Equal(0, exitCode);
        Assert.True(seen.SequenceEqual(["alive", "stopping", "lost"]), $"survival seen: {string.Join(" > ", seen)}; the agent's output ends: {agent.Output[^Math.Min(agent.Output.Length, 3000)..]}");
    }

    [Fact]
    public async Task AgentWithDeadFirstAddress_ReconnectsToTheNextAggregatorAddress()
    {
        _fleet.StartAggregator();
        var dead = $"http://127.0.0.1:{Ports.Free()}";

        _fleet.StartAgent("a1", serverNumber: 1, aggregators: [dead, _fleet.LinkAddress]);

        await _fleet.WaitForAliveCountAsync(1, StartTimeout);
    }

    [Fact]
    public async Task AggregatorRestart_AgentsComeBackOnTheirOwn()
    {
        var aggregator = _fleet.StartAggregator();
        _fleet.StartAgent("a1", serverNumber: 1, extraArgs: ["--reconnectMaxBackoffMs", "1000"]);
        await _fleet.WaitForAliveCountAsync(1, StartTimeout);

        aggregator.Kill();
        await aggregator.WaitForExitAsync(TimeSpan.FromSeconds(10));
        _fleet.StartAggregator();

        await _fleet.WaitForAliveCountAsync(1, StartTimeout);
        Assert.Equal(_fleet.NodeIdOf("a1"), (await _fleet.NodesAsync())[0].GetProperty("nodeId").GetString());
    }

    [Fact]
    public async Task DrainCommand_NodeReportsDrainingThenAliveOnResume()
    {
        _fleet.StartAggregator();
        _fleet.StartAgent("a1", serverNumber: 1);
        await _fleet.WaitForAliveCountAsync(1, StartTimeout);
        var id = _fleet.NodeIdOf("a1");

        using var drain = await _fleet.Http.PostAsync($"/v1/nodes/{id}/drain", null);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, drain.StatusCode);
        await _fleet.WaitForSurvivalAsync(id, "draining", TimeSpan.FromSeconds(5));

        using var resume = await _fleet.Http.PostAsync($"/v1/nodes/{id}/resume", null);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, resume.StatusCode);
        await _fleet.WaitForSurvivalAsync(id, "alive", TimeSpan.FromSeconds(5));

        using var unknown = await _fleet.Http.PostAsync("/v1/nodes/no-such-node/drain", null);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task NodesEndpoint_ShowsTheDocumentedFieldsInCamelCase()
    {
        _fleet.StartAggregator();
        _fleet.StartAgent("a1", serverNumber: 3, cluster: "east", port: Ports.Free());
        await _fleet.WaitForAliveCountAsync(1, StartTimeout);

        var node = (await _fleet.NodesAsync())[0];

        foreach (var field in new[] { "nodeId", "serverNumber", "port", "cluster", "survival", "lastHeartbeatAgeMs" })
        {
            Assert.True(node.TryGetProperty(field, out _), $"missing '{field}' in {node}");
        }

        Assert.Equal(3, node.GetProperty("serverNumber").GetInt32());
        Assert.Equal("east", node.GetProperty("cluster").GetString());
        Assert.Equal(JsonValueKind.Number, node.GetProperty("lastHeartbeatAgeMs").ValueKind);
    }
}
