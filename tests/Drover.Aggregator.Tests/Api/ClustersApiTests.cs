using System.Net;
using System.Text;
using System.Text.Json;
using Drover.Aggregator.Tests.Events;
using Drover.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Drover.Aggregator.Tests.Api;

/// <summary><c>/v1/clusters</c>, its history and its events, on an in-process aggregator with two real agent streams of one cluster.</summary>
public sealed class ClustersApiTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TestAggregator.Timeout;

    private readonly List<(GrpcChannel Channel, AsyncDuplexStreamingCall<AgentMessage, AggregatorMessage> Call)> _agents = [];
    private TestAggregator? _aggregator;

    private TestAggregator Aggregator => _aggregator!;

    public async Task InitializeAsync()
    {
        _aggregator = await TestAggregator.StartAsync();
        for (var server = 1; server <= 2; server++)
        {
            var channel = GrpcChannel.ForAddress(_aggregator.LinkAddress);
            var call = new AgentLink.AgentLinkClient(channel).Connect();
            _agents.Add((channel, call));
            await call.RequestStream.WriteAsync(new AgentMessage
            {
                Hello = new Hello { NodeId = $"n{server}", ServerNumber = (uint)server, Port = (uint)(7410 + server), Cluster = "c1", AgentVersion = "test", Hostname = $"n{server}" },
            }).WaitAsync(Timeout);
            Assert.True(await call.ResponseStream.MoveNext().WaitAsync(Timeout));
        }

        // The API shows the health monitor's last decision, which takes in a new node at its next evaluation.
        await TestAggregator.WaitUntilAsync(
            async () => (await SendAsync(HttpMethod.Get, "/v1/clusters/c1")).Body.GetProperty("total").GetInt32() == 2,
            "the health decision counts both nodes of c1");
    }

    public async Task DisposeAsync()
    {
        foreach (var (channel, call) in _agents)
        {
            await call.RequestStream.CompleteAsync().WaitAsync(Timeout);
            call.Dispose();
            channel.Dispose();
        }

        if (_aggregator is not null)
        {
            await _aggregator.DisposeAsync();
        }
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = json is null ? null : new StringContent(json, Encoding.UTF8, "application/json") };
        using var response = await Aggregator.Http.SendAsync(request).WaitAsync(Timeout);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WaitAsync(Timeout));
        return (response.StatusCode, body.RootElement.Clone());
    }

    [Fact]
    public async Task Get_TwoSurvivingNodes_ClusterHealthyWithTheWholeShare()
    {
        var (status, body) = await SendAsync(HttpMethod.Get, "/v1/clusters/c1");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("healthy", body.GetProperty("health").GetString());
        Assert.Equal((2, 2, 1), (body.GetProperty("total").GetInt32(), body.GetProperty("survivors").GetInt32(), body.GetProperty("minSurvivors").GetInt32()));
        Assert.Equal(("master", "all-masters", 100, 1.0), (body.GetProperty("role").GetString(), body.GetProperty("mode").GetString(), body.GetProperty("weight").GetInt32(), body.GetProperty("trafficShare").GetDouble()));
    }

    [Fact]
    public async Task Put_ThresholdAboveTheSurvivors_UnhealthyDegradedRecordedAndPublished()
    {
        using var events = await Aggregator.Http.GetAsync("/v1/events?cluster=c1", HttpCompletionOption.ResponseHeadersRead).WaitAsync(Timeout);
        using var reader = new StreamReader(await events.Content.ReadAsStreamAsync());

        var (status, body) = await SendAsync(HttpMethod.Put, "/v1/clusters/c1", """{"minSurvivors": 3}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(("unhealthy", 3, 3), (body.GetProperty("health").GetString(), body.GetProperty("minSurvivors").GetInt32(), body.GetProperty("minSurvivorsFixed").GetInt32()));
        var (_, all) = await SendAsync(HttpMethod.Get, "/v1/clusters");
        Assert.True(all.GetProperty("degraded").GetBoolean());
        var (_, history) = await SendAsync(HttpMethod.Get, "/v1/clusters/c1/history");
        var entry = Assert.Single(history.EnumerateArray());
        Assert.Equal(("healthy", "unhealthy", 2), (entry.GetProperty("from").GetString(), entry.GetProperty("to").GetString(), entry.GetProperty("survivors").GetInt32()));
        Assert.Equal("cluster 'c1' has 2 surviving nodes of 2, below its threshold of 3", entry.GetProperty("reason").GetString());

        var lines = new List<string>();
        while (lines.Count < 3 && await reader.ReadLineAsync().WaitAsync(Timeout) is { } line)
        {
            if (line.Length > 0 && !line.StartsWith(':'))
            {
                lines.Add(line);
            }
        }

        Assert.Equal("id: cluster/c1:1", lines[0]);
        Assert.Equal("event: cluster-health", lines[1]);
        Assert.Contains("\"cluster\":\"c1\",\"from\":\"healthy\",\"to\":\"unhealthy\"", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Put_MinSurvivorsZero_BackToTheRatioAndRecovering()
    {
        await SendAsync(HttpMethod.Put, "/v1/clusters/c1", """{"minSurvivors": 3}""");

        var (_, body) = await SendAsync(HttpMethod.Put, "/v1/clusters/c1", """{"minSurvivors": 0, "minimumSurvivalRatio": 1}""");

        // Back at its threshold, but failback waits its periods: recovering, not healthy yet.
        Assert.Equal(("recovering", 2, JsonValueKind.Null), (body.GetProperty("health").GetString(), body.GetProperty("minSurvivors").GetInt32(), body.GetProperty("minSurvivorsFixed").ValueKind));
    }

    [Theory]
    [InlineData("/v1/clusters/c1", """{"weight": -1}""", "weight")]
    [InlineData("/v1/clusters/c1", """{"role": "boss"}""", "role")]
    [InlineData("/v1/clusters/c1", """[1]""", "body")]
    [InlineData("/v1/clusters/c1", """not json""", "body")]
    [InlineData("/v1/clusters/Bad_Name", """{"weight": 1}""", "name")]
    [InlineData("/v1/cluster-groups/default", """{"mode": "round-robin"}""", "mode")]
    [InlineData("/v1/cluster-groups/default", """{"colour": "red"}""", "colour")]
    public async Task Put_BadSetting_400NamingTheField(string path, string json, string field)
    {
        var (status, body) = await SendAsync(HttpMethod.Put, path, json);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(field, body.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Get_UnknownCluster_404()
        => Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, "/v1/clusters/nowhere/history")).Status);
}
