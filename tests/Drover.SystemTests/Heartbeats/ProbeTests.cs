using System.Net;
using System.Text;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Heartbeats;

/// <summary>Survival probes and node weight/priority between the real aggregator and a real agent.</summary>
public sealed class ProbeTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private readonly Fleet _fleet = new(output);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _fleet.DisposeAsync();

    [Fact]
    public async Task ConnectedAgent_AnswersProbes_RoundTripAndConfiguredWeightShown()
    {
        _fleet.StartAggregator();
        _fleet.StartAgent("a1", serverNumber: 1, extraArgs: ["--weight", "300", "--priority", "-2"]);
        await _fleet.WaitForAliveCountAsync(1, StartTimeout);
        var id = _fleet.NodeIdOf("a1");

        await Fleet.WaitUntilAsync(
            async () => (await _fleet.NodeAsync(id))?.GetProperty("probeRoundTripMs").ValueKind == JsonValueKind.Number,
            TimeSpan.FromSeconds(5),
            "the agent's probe round trip appears in GET /v1/nodes",
            async () => (await _fleet.NodeAsync(id))?.ToString() ?? "no node");

        var node = (await _fleet.NodeAsync(id))!.Value;
        Assert.True(node.GetProperty("probeRoundTripMs").GetDouble() >= 0);
        Assert.True(node.GetProperty("survives").GetBoolean(), node.ToString());
        Assert.Equal(300, node.GetProperty("weight").GetInt32());
        Assert.Equal("agent", node.GetProperty("weightSource").GetString());
        Assert.Equal(-2, node.GetProperty("priority").GetInt32());
    }

    [Fact]
    public async Task PutOverride_SurvivesAnAggregatorRestart()
    {
        var aggregator = _fleet.StartAggregator();
        _fleet.StartAgent("a1", serverNumber: 1, extraArgs: ["--reconnectMaxBackoffMs", "1000"]);
        await _fleet.WaitForAliveCountAsync(1, StartTimeout);
        var id = _fleet.NodeIdOf("a1");

        using (var put = await _fleet.Http.PutAsync($"/v1/nodes/{id}", new StringContent("{\"weight\": 0, \"priority\": 7}", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        aggregator.Kill();
        await aggregator.WaitForExitAsync(TimeSpan.FromSeconds(10));
        _fleet.StartAggregator();
        await _fleet.WaitForAliveCountAsync(1, StartTimeout);

        var node = (await _fleet.NodeAsync(id))!.Value;
        Assert.Equal(0, node.GetProperty("weight").GetInt32());
        Assert.Equal("override", node.GetProperty("weightSource").GetString());
        Assert.Equal(7, node.GetProperty("priority").GetInt32());
        Assert.Equal("override", node.GetProperty("prioritySource").GetString());
    }
}
