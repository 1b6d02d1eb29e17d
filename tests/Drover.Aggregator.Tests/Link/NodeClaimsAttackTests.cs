using System.Security.Cryptography;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.State;
using Drover.Aggregator.Tests.Events;
using Drover.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using Agent = Drover.Aggregator.Tests.Link.AgentLinkEventsTests.Agent;

namespace Drover.Aggregator.Tests.Link;

/// <summary>
/// Issue 14: what a node may claim over the link, attacked through a real in-process aggregator. Each
/// claim out of bounds is refused with its status and a log line naming the field, and the node
/// table and the store are left as they were.
/// </summary>
[Trait("Category", "Attacks")]
public sealed class NodeClaimsAttackTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TestAggregator.Timeout;
    private readonly RecordingSink _log = new(output);
    private TestAggregator? _aggregator;

    private TestAggregator Aggregator => _aggregator!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_aggregator is not null)
        {
            await _aggregator.DisposeAsync();
        }
    }

    private async Task StartAsync(Action<Drover.Aggregator.Configuration.AggregatorOptions>? configure = null)
        => _aggregator = await TestAggregator.StartAsync(configure: configure, logger: _log.CreateLogger());

    /// <summary>Sends a Hello on a new stream: the status it was refused with, or null when welcomed.</summary>
    private async Task<RpcException?> HelloAsync(Hello hello)
    {
        using var channel = GrpcChannel.ForAddress(Aggregator.LinkAddress);
        using var call = new AgentLink.AgentLinkClient(channel).Connect();
        await call.RequestStream.WriteAsync(new AgentMessage { Hello = hello }).WaitAsync(Timeout);
        try
        {
            Assert.True(await call.ResponseStream.MoveNext().WaitAsync(Timeout));
            Assert.Equal(AggregatorMessage.KindOneofCase.Welcome, call.ResponseStream.Current.KindCase);
            await call.RequestStream.CompleteAsync().WaitAsync(Timeout);
            return null;
        }
        catch (RpcException ex)
        {
            return ex;
        }
    }

    private static Hello Hello(string nodeId, uint serverNumber, string advertise = "")
        => new() { NodeId = nodeId, ServerNumber = serverNumber, Port = 7411, Cluster = "c1", AgentVersion = "test", Hostname = nodeId, AdvertiseAddress = advertise };

    private IReadOnlyList<string> Refusals()
        => _log.Named("HelloRefused").Select(e => e.RenderMessage(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    [Theory]
    [InlineData("10.9.9.9")]
    [InlineData("169.254.169.254")]
    [InlineData("metadata.internal")]
    public async Task Hello_AdvertisingAnAddressItDoesNotComeFrom_RefusedAndNotRegistered(string advertised)
    {
        await StartAsync();

        var refused = await HelloAsync(Hello("impostor", 1, advertised));

        Assert.Equal(StatusCode.PermissionDenied, refused?.StatusCode);
        Assert.Contains($"hello.advertiseAddress = '{advertised}' is not accepted", refused!.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(Aggregator.Services.GetRequiredService<NodeTable>().Snapshot());
        Assert.Contains(Refusals(), r => r.Contains("advertiseAddress", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("127.0.0.1", "")]
    [InlineData("10.9.9.9", "10.0.0.0/8")]
    [InlineData("10.9.9.9", "10.9.9.9")]
    [InlineData("gpu-7.example", "gpu-7.example")]
    public async Task Hello_AdvertisingItsOwnOrAnAllowedAddress_Welcomed(string advertised, string allowed)
    {
        await StartAsync(o => o.AdvertiseAddressesAllowed = allowed.Length == 0 ? [] : [allowed]);

        Assert.Null(await HelloAsync(Hello("n1", 1, advertised)));

        Assert.Equal(advertised, Assert.Single(Aggregator.Services.GetRequiredService<NodeTable>().Snapshot()).Identity.Address);
    }

    [Fact]
    public async Task Hello_NewNodeIdsBeyondMaxNodesPerCluster_Refused_KnownNodeStillReconnects()
    {
        await StartAsync(o => o.MaxNodesPerCluster = 2);
        Assert.Null(await HelloAsync(Hello("n1", 1)));
        Assert.Null(await HelloAsync(Hello("n2", 2)));

        var refused = await HelloAsync(Hello("made-up", 3));

        Assert.Equal(StatusCode.ResourceExhausted, refused?.StatusCode);
        Assert.Contains("cluster 'c1' holds 2 nodes", refused!.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(["n1", "n2"], Aggregator.Services.GetRequiredService<NodeTable>().Snapshot().Select(n => n.NodeId).Order(StringComparer.Ordinal));
        Assert.Contains(Refusals(), r => r.Contains("maxNodesPerCluster", StringComparison.Ordinal));
        Assert.Null(await HelloAsync(Hello("n1", 1)));
    }

    [Fact]
    public async Task StateChunk_ForAnInstanceNotAssignedToTheNode_RefusedAndNothingStored()
    {
        await StartAsync();
        await Aggregator.DefineFunctionAsync("counter");
        await using var agent = await Agent.ConnectAsync(Aggregator, "node-a", 1);
        var bytes = new byte[1000];
        Random.Shared.NextBytes(bytes);

        await agent.SendAsync(new AgentMessage
        {
            StateChunk = new StateChunk
            {
                InstanceId = "fn-counter-planted",
                Function = "counter",
                Version = 1,
                Index = 0,
                Count = 1,
                TotalSize = (ulong)bytes.Length,
                Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)),
                Data = ByteString.CopyFrom(bytes),
            },
        });
        var ack = (await agent.ReceiveAsync(AggregatorMessage.KindOneofCase.StateAck)).StateAck;

        Assert.False(ack.Ok);
        Assert.Equal("instance 'fn-counter-planted' is not assigned to node 'node-a' (the aggregator does not know it)", ack.Error);
        Assert.Empty(await Aggregator.Services.GetRequiredService<IStateStore>().ListAsync("fn-counter-planted", CancellationToken.None));
        Assert.Contains(_log.Named("SnapshotRefused"), e => e.RenderMessage(System.Globalization.CultureInfo.InvariantCulture).Contains("does not know it", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(-1_000_000)]
    [InlineData(1_000_000)]
    public async Task Hello_PriorityOutOfBounds_RefusedNamingIt(int priority)
    {
        await StartAsync();
        var hello = Hello("n1", 1);
        hello.Priority = priority;

        var refused = await HelloAsync(hello);

        Assert.Equal(StatusCode.InvalidArgument, refused?.StatusCode);
        Assert.Contains("hello.priority", refused!.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(Aggregator.Services.GetRequiredService<NodeTable>().Snapshot());
    }
}
