using Drover.Aggregator.Link;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Tests.Link;

public class HelloValidatorTests
{
    private static Hello Valid() => new()
    {
        NodeId = "0a1b2c",
        ServerNumber = 1,
        Port = 7411,
        Cluster = "c1",
        AgentVersion = "0.1.0",
        Hostname = "gpu-01",
    };

    [Fact]
    public void Validate_GoodHello_ReturnsIdentity()
    {
        var hello = Valid();
        hello.Labels.Add("zone", "a");

        var (identity, field, _) = HelloValidator.Validate(hello);

        Assert.Null(field);
        Assert.NotNull(identity);
        Assert.Equal("a", identity.Labels["zone"]);
        Assert.Equal(7411, identity.Port);
    }

    public static TheoryData<string, Action<Hello>> BadHellos => new()
    {
        { "nodeId", h => h.NodeId = "" },
        { "nodeId", h => h.NodeId = "../etc" + "/x" },
        { "nodeId", h => h.NodeId = new string('a', 65) },
        { "serverNumber", h => h.ServerNumber = 0 },
        { "serverNumber", h => h.ServerNumber = 65536 },
        { "port", h => h.Port = 0 },
        { "port", h => h.Port = 70000 },
        { "cluster", h => h.Cluster = "" },
        { "cluster", h => h.Cluster = "Upper" },
        { "cluster", h => h.Cluster = "-lead" },
        { "cluster", h => h.Cluster = new string('c', 64) },
        { "labels", h => { for (var i = 0; i < 65; i++) { h.Labels.Add($"k{i}", "v"); } } },
        { "labels", h => h.Labels.Add("bad key", "v") },
        { "labels.k", h => h.Labels.Add("k", new string('v', 257)) },
        { "agentVersion", h => h.AgentVersion = new string('1', 65) },
        { "hostname", h => h.Hostname = new string('h', 256) },
        { "weight", h => h.Weight = 1001 },
        { "priority", h => h.Priority = 1001 },
        { "priority", h => h.Priority = -1001 },
    };

    [Fact]
    public void Validate_NoWeightOrPriority_LeavesThemUnset()
    {
        var (identity, _, _) = HelloValidator.Validate(Valid());

        Assert.NotNull(identity);
        Assert.Null(identity.Weight);
        Assert.Null(identity.Priority);
        Assert.False(identity.AnswersProbes);
    }

    [Theory]
    [InlineData(0u, -1000)]
    [InlineData(1000u, 1000)]
    [InlineData(100u, 0)]
    public void Validate_WeightAndPriorityInRange_AreKept(uint weight, int priority)
    {
        var hello = Valid();
        hello.Weight = weight;
        hello.Priority = priority;

        var (identity, field, _) = HelloValidator.Validate(hello);

        Assert.Null(field);
        Assert.Equal((int)weight, identity!.Weight);
        Assert.Equal(priority, identity.Priority);
    }

    [Theory]
    [MemberData(nameof(BadHellos))]
    public void Validate_BadField_NamesFieldAndValue(string expectedField, Action<Hello> spoil)
    {
        var hello = Valid();
        spoil(hello);

        var (identity, field, reason) = HelloValidator.Validate(hello);

        Assert.Null(identity);
        Assert.Equal(expectedField, field);
        Assert.StartsWith($"hello.{expectedField} = '", reason, StringComparison.Ordinal);
        Assert.Contains("expected", reason, StringComparison.Ordinal);
    }
}
