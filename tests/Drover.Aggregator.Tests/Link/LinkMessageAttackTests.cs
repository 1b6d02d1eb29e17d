using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Drover.Aggregator.Tests.Events;
using Drover.Protocol.Snapshots;
using Drover.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Serilog.Events;
using Xunit.Abstractions;
using Agent = Drover.Aggregator.Tests.Link.AgentLinkEventsTests.Agent;

namespace Drover.Aggregator.Tests.Link;

/// <summary>
/// Issue 14: what a peer of the agent link can send that is not a well-formed agent message, through
/// a real in-process aggregator: bytes that are not a protobuf <see cref="AgentMessage"/>, a message
/// larger than the link accepts, a first message that is not a Hello. Each ends its stream with a
/// gRPC status, registers no node, logs nothing as a failure of the aggregator's, and leaves the
/// link serving a real agent's Hello.
/// </summary>
/// <remarks>
/// The malformed and oversized frames are sent as a raw HTTP/2 request (a 5-byte gRPC frame header and
/// the payload), since a gRPC client only ever sends what its marshaller wrote.
/// </remarks>
[Trait("Category", "Attacks")]
public sealed class LinkMessageAttackTests(ITestOutputHelper output) : AggregatorTestBase(output)
{
    private static readonly TimeSpan Timeout = TestAggregator.Timeout;

    /// <summary>The link's MaxReceiveMessageSize (AggregatorHost): a snapshot chunk and its envelope.</summary>
    private const int MaxMessageBytes = SnapshotChunks.ChunkBytes + (64 * 1024);

    /// <summary>Payloads that no protobuf parser reads as an <see cref="AgentMessage"/>.</summary>
    public static TheoryData<string, byte[]> NotProtobuf => new()
    {
        { "tag zero", [0x00, 0x01, 0x02] },
        { "varint longer than ten bytes", [0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01] },
        { "length beyond the message", [0x0A, 0x7F] },
        { "end group never opened", [0x0C] },
        { "text", "GET / HTTP/1.1\r\n\r\n"u8.ToArray() },
    };

    [Theory]
    [MemberData(nameof(NotProtobuf))]
    public async Task Connect_FrameThatIsNotAnAgentMessage_EndsWithInvalidArgumentAndNoNode(string what, byte[] payload)
    {
        var (status, detail, welcomed) = await SendFramesAsync(Frame(payload));
        Output.WriteLine($"{what}: {status} '{detail}'");

        Assert.Equal(StatusCode.InvalidArgument, status);
        Assert.Contains("not a valid AgentMessage", detail, StringComparison.Ordinal);
        Assert.False(welcomed);
        Assert.Single(Logged.Named("AgentMessageMalformed"));
        await AssertLinkStillServesAndOnlyTheRealNodeIsListedAsync();
    }

    [Fact]
    public async Task Connect_FrameThatIsNotAnAgentMessageAfterTheHello_EndsTheNodesStreamWithInvalidArgument()
    {
        var hello = new AgentMessage { Hello = new Hello { NodeId = "n1", ServerNumber = 2, Port = 7411, Cluster = "c1", AgentVersion = "test", Hostname = "n1" } };

        var (status, detail, welcomed) = await SendFramesAsync([.. Frame(hello.ToByteArray()), .. Frame([0x00, 0x01, 0x02])]);
        Output.WriteLine($"{status} '{detail}'");

        Assert.True(welcomed);
        Assert.Equal(StatusCode.InvalidArgument, status);
        Assert.Contains(Logged.Named("AgentMessageMalformed"), e => e.Properties["NodeId"] is ScalarValue { Value: "n1" });

        // Its cluster's only node left, and the cluster is unhealthy: an error of its own (NoHealthyCluster), not the frame's.
        Assert.DoesNotContain(Logged.Events, e => e.Level >= LogEventLevel.Error && Logged.Named("NoHealthyCluster").All(n => n != e));
        using var nodes = JsonDocument.Parse(await Aggregator.Http.GetStringAsync("/v1/nodes").WaitAsync(Timeout));
        Assert.False(nodes.RootElement.EnumerateArray().Single(n => n.GetProperty("nodeId").GetString() == "n1").GetProperty("connected").GetBoolean());
    }

    [Fact]
    public async Task Connect_FrameAboveMaxReceiveMessageSize_EndsWithResourceExhaustedAndNoNode()
    {
        // The header declares one byte more than the link accepts; the aggregator refuses on the header
        // alone, without buffering what follows.
        var header = new byte[5];
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1), MaxMessageBytes + 1);

        var (status, detail, welcomed) = await SendFramesAsync([.. header, .. new byte[1024]]);
        Output.WriteLine($"{status} '{detail}'");

        Assert.Equal(StatusCode.ResourceExhausted, status);
        Assert.False(welcomed);
        await AssertLinkStillServesAndOnlyTheRealNodeIsListedAsync();
    }

    [Fact]
    public async Task Connect_FirstMessageNotAHello_EndsWithFailedPreconditionAndNoNode()
    {
        using var channel = GrpcChannel.ForAddress(Aggregator.LinkAddress);
        using var call = new AgentLink.AgentLinkClient(channel).Connect();
        await call.RequestStream.WriteAsync(new AgentMessage { Heartbeat = new Heartbeat { Sequence = 1, Survival = SurvivalState.Alive, ServerNumber = 1, Port = 7411 } }).WaitAsync(Timeout);

        var refused = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext().WaitAsync(Timeout));

        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains("must be a Hello", refused.Status.Detail, StringComparison.Ordinal);
        await AssertLinkStillServesAndOnlyTheRealNodeIsListedAsync();
    }

    /// <summary>A gRPC length-prefixed message: not compressed, the payload's length big-endian, the payload.</summary>
    private static byte[] Frame(byte[] payload)
    {
        var frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>
    /// Opens the link's Connect call as a raw HTTP/2 request whose body is <paramref name="body"/> and
    /// then ends: the call's gRPC status and detail, from the trailers or a trailers-only response, and
    /// whether the aggregator sent any message first (a Welcome).
    /// </summary>
    private async Task<(StatusCode Status, string Detail, bool Welcomed)> SendFramesAsync(byte[] body)
    {
        using var client = new HttpClient { Timeout = Timeout };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Aggregator.LinkAddress, "/drover.v1.AgentLink/Connect"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var messages = await response.Content.ReadAsByteArrayAsync();

        var headers = response.TrailingHeaders.Contains("grpc-status") ? (HttpHeaders)response.TrailingHeaders : response.Headers;
        var status = (StatusCode)int.Parse(headers.GetValues("grpc-status").Single(), CultureInfo.InvariantCulture);
        var detail = headers.TryGetValues("grpc-message", out var values) ? Uri.UnescapeDataString(values.Single()) : "";
        return (status, detail, messages.Length > 0);
    }

    /// <summary>
    /// The aggregator logged nothing at Error or above for what the peer sent (checked first: the real
    /// agent's cluster going unhealthy when it leaves is an error of its own), a real agent is still
    /// welcomed, and <c>GET /v1/nodes</c> lists it alone: nothing of the bad stream was registered.
    /// </summary>
    private async Task AssertLinkStillServesAndOnlyTheRealNodeIsListedAsync()
    {
        Assert.DoesNotContain(Logged.Events, e => e.Level >= LogEventLevel.Error);
        await using var agent = await Agent.ConnectAsync(Aggregator, "real", 1);
        using var nodes = JsonDocument.Parse(await Aggregator.Http.GetStringAsync("/v1/nodes").WaitAsync(Timeout));
        Assert.Equal(["real"], nodes.RootElement.EnumerateArray().Select(n => n.GetProperty("nodeId").GetString()));
    }
}
