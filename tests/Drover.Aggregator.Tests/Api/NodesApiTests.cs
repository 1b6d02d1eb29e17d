using System.Net;
using System.Text;
using System.Text.Json;
using Drover.Aggregator.Tests.Events;
using Drover.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Drover.Aggregator.Tests.Api;

/// <summary><c>PUT /v1/nodes/{nodeId}</c>, the node fields of <c>GET /v1/nodes</c> and its GPUs, on an in-process aggregator with a real agent stream.</summary>
public sealed class NodesApiTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TestAggregator.Timeout;

    private TestAggregator? _aggregator;
    private GrpcChannel? _channel;
    private AsyncDuplexStreamingCall<AgentMessage, AggregatorMessage>? _call;

    private TestAggregator Aggregator => _aggregator!;

    private AsyncDuplexStreamingCall<AgentMessage, AggregatorMessage> Call => _call!;

    public async Task InitializeAsync()
    {
        _aggregator = await TestAggregator.StartAsync();
        _channel = GrpcChannel.ForAddress(_aggregator.LinkAddress);
        _call = new AgentLink.AgentLinkClient(_channel).Connect();
        await _call.RequestStream.WriteAsync(new AgentMessage
        {
            Hello = new Hello { NodeId = "n1", ServerNumber = 1, Port = 7411, Cluster = "c1", AgentVersion = "test", Hostname = "n1", Weight = 250, Priority = 3, AnswersProbes = true },
        }).WaitAsync(Timeout);
        Assert.True(await _call.ResponseStream.MoveNext().WaitAsync(Timeout));
        Assert.Equal(AggregatorMessage.KindOneofCase.Welcome, _call.ResponseStream.Current.KindCase);
    }

    public async Task DisposeAsync()
    {
        if (_call is not null)
        {
            await _call.RequestStream.CompleteAsync().WaitAsync(Timeout);
            _call.Dispose();
        }

        _channel?.Dispose();
        if (_aggregator is not null)
        {
            await _aggregator.DisposeAsync();
        }
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> PutAsync(string nodeId, string json)
    {
        using var response = await Aggregator.Http.PutAsync($"/v1/nodes/{nodeId}", new StringContent(json, Encoding.UTF8, "application/json")).WaitAsync(Timeout);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WaitAsync(Timeout));
        return (response.StatusCode, body.RootElement.Clone());
    }

    private async Task<JsonElement> GetNodeAsync(string nodeId)
    {
        using var body = JsonDocument.Parse(await Aggregator.Http.GetStringAsync($"/v1/nodes/{nodeId}").WaitAsync(Timeout));
        return body.RootElement.Clone();
    }

    private static (int, string, int, string) Settings(JsonElement node)
        => (node.GetProperty("weight").GetInt32(), node.GetProperty("weightSource").GetString()!, node.GetProperty("priority").GetInt32(), node.GetProperty("prioritySource").GetString()!);

    [Fact]
    public async Task Get_HelloValues_AreShownAsTheAgents()
        => Assert.Equal((250, "agent", 3, "agent"), Settings(await GetNodeAsync("n1")));

    [Fact]
    public async Task Put_Weight_AppliesAtOnceIsPersistedAndLeavesThePriority()
    {
        var (status, body) = await PutAsync("n1", "{\"weight\": 0}");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal((0, "override", 3, "agent"), Settings(body));
        Assert.Equal((0, "override", 3, "agent"), Settings(await GetNodeAsync("n1")));
        var saved = await File.ReadAllTextAsync(Path.Combine(Aggregator.Options.DataDirectory, "nodes.json"));
        Assert.Contains("\"n1\"", saved, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Put_NullField_ClearsThatOverrideOnly()
    {
        await PutAsync("n1", "{\"weight\": 1000, \"priority\": -1000}");

        var (status, body) = await PutAsync("n1", "{\"weight\": null}");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal((250, "agent", -1000, "override"), Settings(body));
    }

    [Theory]
    [InlineData("{\"weight\": 1001}", "weight", "weight = '1001': expected a whole number from 0 to 1000")]
    [InlineData("{\"weight\": -1}", "weight", "weight = '-1'")]
    [InlineData("{\"weight\": 1.5}", "weight", "weight = '1.5'")]
    [InlineData("{\"weight\": \"10\"}", "weight", "weight = '\"10\"'")]
    [InlineData("{\"priority\": 1001}", "priority", "priority = '1001': expected a whole number from -1000 to 1000")]
    [InlineData("{\"priority\": -1001}", "priority", "priority = '-1001'")]
    [InlineData("{\"weight\": 5, \"speed\": 1}", "speed", "speed is not a node setting")]
    [InlineData("{}", "body", "names no setting")]
    [InlineData("[1]", "body", "expected an object")]
    [InlineData("{\"weight\": ", "body", "not valid JSON")]
    public async Task Put_BadBody_Is400NamingTheFieldAndChangesNothing(string json, string field, string detail)
    {
        var (status, body) = await PutAsync("n1", json);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(field, body.GetProperty("field").GetString());
        Assert.Contains(detail, body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal((250, "agent", 3, "agent"), Settings(await GetNodeAsync("n1")));
    }

    [Fact]
    public async Task Put_UnknownNode_Is404()
    {
        var (status, _) = await PutAsync("nobody", "{\"weight\": 5}");

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.False(File.Exists(Path.Combine(Aggregator.Options.DataDirectory, "nodes.json")));
    }

    /// <summary>A MIG instance is listed as a GPU of its own with its <c>mig</c> object; a whole GPU, its parent included, has <c>mig</c> null.</summary>
    [Fact]
    public async Task Gpus_MigInstance_ListedWithItsMigObjectWholeGpusWithNull()
    {
        var telemetry = new Telemetry { Status = new GpuTelemetryStatus { Available = true, DriverVersion = "550.54.15" } };
        telemetry.Gpus.Add(new GpuSample { Gpu = new GpuInfo { Index = 0, Uuid = "GPU-w", Name = "H100" }, Health = GpuHealth.Ok });
        telemetry.Gpus.Add(new GpuSample { Gpu = new GpuInfo { Index = 1, Uuid = "GPU-p", Name = "H100" }, Health = GpuHealth.Ok, MigEnabled = true });
        telemetry.Gpus.Add(new GpuSample
        {
            Gpu = new GpuInfo { Index = 1, Uuid = "MIG-p1", Name = "H100 MIG 1g.10gb", ParentUuid = "GPU-p", MigProfile = "1g.10gb", GpuInstanceId = 9, ComputeInstanceId = 2 },
            Health = GpuHealth.Ok,
            CommandQueueSource = CommandQueueSource.Unknown,
            GraphicsActivityPercent = 42.5,
            SmActivityPercent = double.NaN, // never sent by a correct agent: read as 0
            SmOccupancyPercent = 250, // held to 100
            MemoryTemperatureC = 61,
        });
        await Call.RequestStream.WriteAsync(new AgentMessage { Telemetry = telemetry }).WaitAsync(Timeout);

        JsonElement[] gpus = [];
        await TestAggregator.WaitUntilAsync(
            async () =>
            {
                using var body = JsonDocument.Parse(await Aggregator.Http.GetStringAsync("/v1/nodes/n1/gpus").WaitAsync(Timeout));
                gpus = body.RootElement.EnumerateArray().Select(g => g.Clone()).ToArray();
                return gpus.Length == 3;
            },
            "three GPUs are listed");

        Assert.Equal(["GPU-w", "GPU-p", "MIG-p1"], gpus.Select(g => g.GetProperty("uuid").GetString()));
        Assert.Equal(JsonValueKind.Null, gpus[0].GetProperty("mig").ValueKind);
        Assert.Equal(JsonValueKind.Null, gpus[1].GetProperty("mig").ValueKind);
        Assert.True(gpus[1].GetProperty("migEnabled").GetBoolean());
        var mig = gpus[2].GetProperty("mig");
        Assert.Equal(
            ("GPU-p", "1g.10gb", 9u, 2u),
            (mig.GetProperty("parentUuid").GetString(), mig.GetProperty("profile").GetString(), mig.GetProperty("gpuInstanceId").GetUInt32(), mig.GetProperty("computeInstanceId").GetUInt32()));
        Assert.Equal("unknown", gpus[2].GetProperty("commandQueueSource").GetString());
        Assert.Equal(
            (42.5, 0.0, 100.0, 61u),
            (gpus[2].GetProperty("graphicsActivityPercent").GetDouble(), gpus[2].GetProperty("smActivityPercent").GetDouble(),
                gpus[2].GetProperty("smOccupancyPercent").GetDouble(), gpus[2].GetProperty("memoryTemperatureC").GetUInt32()));

        // The node's GPU count is of whole GPUs: a MIG instance is a unit of placement, not another GPU.
        using var nodes = JsonDocument.Parse(await Aggregator.Http.GetStringAsync("/v1/nodes").WaitAsync(Timeout));
        Assert.Equal(2, nodes.RootElement.EnumerateArray().Single(n => n.GetProperty("nodeId").GetString() == "n1").GetProperty("gpuCount").GetInt32());
    }

    [Theory]
    [InlineData(1u, 7411u)]
    [InlineData(9u, 7411u)] // another server number than the Hello: a warning, and it still counts
    [InlineData(1u, 1234u)]
    public async Task Probe_AnsweredOnTheStream_RoundTripAppearsAndTheNodeSurvives(uint serverNumber, uint port)
    {
        // The first round went out at start, before this node connected: the next one comes within a period.
        SurvivalProbe? probe = null;
        while (probe is null && await Call.ResponseStream.MoveNext().WaitAsync(Timeout))
        {
            probe = Call.ResponseStream.Current.SurvivalProbe;
        }

        Assert.NotNull(probe);
        await Call.RequestStream.WriteAsync(new AgentMessage
        {
            ProbeReply = new ProbeReply { Sequence = probe.Sequence, ServerNumber = serverNumber, Port = port, Survival = SurvivalState.Alive },
        }).WaitAsync(Timeout);

        using var bound = new CancellationTokenSource(Timeout);
        JsonElement node;
        do
        {
            node = await GetNodeAsync("n1");
        }
        while (node.GetProperty("probeRoundTripMs").ValueKind == JsonValueKind.Null && !bound.IsCancellationRequested);

        Assert.True(node.GetProperty("probeRoundTripMs").GetDouble() >= 0);
        Assert.True(node.GetProperty("survives").GetBoolean());
    }
}
