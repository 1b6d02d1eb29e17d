using System.Security.Cryptography;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.State;
using Drover.Aggregator.Tests.Events;
using Drover.Protocol.V1;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using Agent = Drover.Aggregator.Tests.Link.AgentLinkEventsTests.Agent;

namespace Drover.Aggregator.Tests.Link;

/// <summary>Commits fenced by epoch over the real agent link of an in-process aggregator.</summary>
public sealed class AgentLinkFencingTests : IAsyncLifetime
{
    private const string InstanceId = "fn-counter-1";

    private TestAggregator? _aggregator;

    private TestAggregator Aggregator => _aggregator!;

    private InstanceTable Instances => Aggregator.Services.GetRequiredService<InstanceTable>();

    public async Task InitializeAsync()
    {
        _aggregator = await TestAggregator.StartAsync();

        // Instances of functions that are not defined are forgotten by the reconciler's next pass.
        await _aggregator.DefineFunctionAsync("counter");
    }

    public async Task DisposeAsync()
    {
        if (_aggregator is not null)
        {
            await _aggregator.DisposeAsync();
        }
    }

    [Fact]
    public async Task StateChunk_OlderEpochOnAssignedNode_AckedFencedAndLatestUnchanged()
    {
        Instances.Assign(InstanceId, "counter", "node-a", "c1");
        Instances.Assign(InstanceId, "counter", "node-b");
        Instances.Assign(InstanceId, "counter", "node-a"); // failback: epoch 3, on node-a again
        await using var agent = await Agent.ConnectAsync(Aggregator, "node-a", 1);

        var current = await CommitAsync(agent, version: 1, epoch: 3, seed: 1);
        var stale = await CommitAsync(agent, version: 2, epoch: 1, seed: 2);
        var old = await CommitAsync(agent, version: 2, epoch: 0, seed: 3);

        Assert.True(current.Ok);
        Assert.False(current.Fenced);
        Assert.False(stale.Ok);
        Assert.True(stale.Fenced);
        Assert.Contains("epoch 1", stale.Error, StringComparison.Ordinal);
        Assert.Contains("(epoch 3)", stale.Error, StringComparison.Ordinal);
        Assert.Equal(1UL, stale.Version);
        Assert.True(old.Ok); // an agent that does not know epochs: as before
        Assert.False(old.Fenced);
        var kept = await Aggregator.Services.GetRequiredService<IStateStore>().ListAsync(InstanceId, CancellationToken.None);
        Assert.Equal([2L, 1L], kept.Select(k => k.Version));
        Assert.Equal(Sha256(Bytes(3)), kept[0].Sha256Hex);
    }

    [Fact]
    public async Task StateChunk_OlderEpochFromNodeItMovedAwayFrom_AckedFenced()
    {
        Instances.Assign(InstanceId, "counter", "node-a", "c1");
        Instances.Assign(InstanceId, "counter", "node-b");
        await using var agent = await Agent.ConnectAsync(Aggregator, "node-a", 1);

        // Whether or not the reconciler has moved it back to node-a (epoch 3) by now, epoch 1 is older.
        var stale = await CommitAsync(agent, version: 5, epoch: 1, seed: 1);

        Assert.False(stale.Ok);
        Assert.True(stale.Fenced);
        Assert.Empty(await Aggregator.Services.GetRequiredService<IStateStore>().ListAsync(InstanceId, CancellationToken.None));
    }

    private static byte[] Bytes(int seed)
    {
        var bytes = new byte[1000];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static async Task<StateAck> CommitAsync(Agent agent, ulong version, ulong epoch, int seed)
    {
        var bytes = Bytes(seed);
        await agent.SendAsync(new AgentMessage
        {
            StateChunk = new StateChunk
            {
                InstanceId = InstanceId,
                Function = "counter",
                Version = version,
                Index = 0,
                Count = 1,
                TotalSize = (ulong)bytes.Length,
                Sha256 = Sha256(bytes),
                Data = ByteString.CopyFrom(bytes),
                Epoch = epoch,
            },
        });
        return (await agent.ReceiveAsync(AggregatorMessage.KindOneofCase.StateAck)).StateAck;
    }
}
