using Drover.Protocol.Events;
using Drover.Protocol.V1;

namespace Drover.Protocol.Tests;

public sealed class EventChannelsTests
{
    [Theory]
    [InlineData("function/counter", "function", "counter")]
    [InlineData("service/api", "service", "api")]
    [InlineData("cluster/c1", "cluster", "c1")]
    [InlineData("decisions/counter", "decisions", "counter")]
    public void Split_KnownKinds_KindAndName(string channel, string kind, string name)
        => Assert.Equal((kind, name), EventChannels.Split(channel));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("function/")]
    [InlineData("function/Counter")]
    [InlineData("job/x")]
    [InlineData("functions/x")]
    [InlineData("function/a/b")]
    public void Split_Others_Null(string? channel) => Assert.Null(EventChannels.Split(channel));

    [Theory]
    [InlineData("function/counter", true)]
    [InlineData("service/api", true)]
    [InlineData("cluster/c1", false)]
    [InlineData("decisions/counter", false)]
    public void IsValid_OnlyWhatShimsPublishOn(string channel, bool expected) => Assert.Equal(expected, EventChannels.IsValid(channel));

    [Theory]
    [InlineData(WorkloadKind.Function, "function/echo")]
    [InlineData(WorkloadKind.Service, "service/echo")]
    [InlineData(WorkloadKind.Unspecified, "function/echo")]
    public void Of_Spec_ChannelOfItsSet(WorkloadKind kind, string expected)
        => Assert.Equal(expected, EventChannels.Of(new InstanceSpec { Kind = kind, Function = "echo" }));

    [Fact]
    public void Builders_RoundTripThroughSplit()
    {
        Assert.Equal(("function", "f"), EventChannels.Split(EventChannels.Function("f")));
        Assert.Equal(("service", "s"), EventChannels.Split(EventChannels.Service("s")));
        Assert.Equal(("cluster", "c"), EventChannels.Split(EventChannels.Cluster("c")));
        Assert.Equal(("decisions", "d"), EventChannels.Split(EventChannels.Decisions("d")));
        Assert.Equal(EventChannels.MaxLength, EventChannels.Decisions(new string('a', Names.MaxNameLength)).Length);
    }
}
