using Drover.Agent.Configuration;
using Drover.Agent.Link;
using Drover.Protocol.V1;

namespace Drover.Agent.Tests.Link;

public class NodeHelloTests
{
    [Fact]
    public void Create_ConfiguredWeightAndPriority_AreSent()
    {
        var options = new AgentOptions { ServerNumber = 3, Weight = 250, Priority = -7 };

        var hello = new NodeHello("node-1", options).Create(new GpuTelemetryStatus(), []);

        Assert.True(hello.HasWeight);
        Assert.True(hello.HasPriority);
        Assert.Equal(250U, hello.Weight);
        Assert.Equal(-7, hello.Priority);
    }

    [Fact]
    public void Create_Defaults_SendWeight100AndPriority0Explicitly()
    {
        var hello = new NodeHello("node-1", new AgentOptions { ServerNumber = 3 }).Create(new GpuTelemetryStatus(), []);

        // Sent even at the defaults: the aggregator tells "the agent said 100" from "an old agent said nothing".
        Assert.True(hello.HasWeight);
        Assert.True(hello.HasPriority);
        Assert.Equal(100U, hello.Weight);
        Assert.Equal(0, hello.Priority);
        Assert.True(hello.AnswersProbes);
    }

    [Fact]
    public void Create_KnownLeader_IsSentAsACopy()
    {
        var known = new LeaderTerm { StoreId = "store-a", Term = 4 };

        var hello = new NodeHello("node-1", new AgentOptions { ServerNumber = 3 }).Create(new GpuTelemetryStatus(), [], known);
        known.Term = 5;

        Assert.Equal(new LeaderTerm { StoreId = "store-a", Term = 4 }, hello.KnownLeader);
    }

    [Fact]
    public void Create_NoKnownLeader_LeavesItUnset()
    {
        var hello = new NodeHello("node-1", new AgentOptions { ServerNumber = 3 }).Create(new GpuTelemetryStatus(), []);

        Assert.Null(hello.KnownLeader);
    }
}
