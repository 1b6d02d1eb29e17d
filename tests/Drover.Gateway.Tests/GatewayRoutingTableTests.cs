using Drover.Decisions.Routing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using static Drover.Gateway.Tests.GatewayHarness;

namespace Drover.Gateway.Tests;

public class GatewayRoutingTableTests
{
    private static RoutingTable Table(long version, double share, params RouteNode[] nodes) => TableOf(version, [new RouteCluster("a", share, nodes)]);

    [Fact]
    public void Update_SameNodesOtherShares_SwapsWithoutPublishing()
    {
        var table = new GatewayRoutingTable();
        var published = 0;
        table.DestinationsChanged += _ => published++;
        table.Update(Table(1, 1, Node("a1", "a", "127.0.0.1:7001")));

        var next = Table(2, 0.5, Node("a1", "a", "127.0.0.1:7001"));
        table.Update(next);

        Assert.Equal(1, published);
        Assert.Same(next, table.Current);
    }

    [Theory]
    [InlineData("a1", "127.0.0.1:7002")]   // endpoint moved
    [InlineData("a2", "127.0.0.1:7001")]   // other node
    public void Update_NodeOrEndpointChanged_Publishes(string nodeId, string endpoint)
    {
        var table = new GatewayRoutingTable();
        var published = new List<long>();
        table.DestinationsChanged += t => published.Add(t.Version);
        table.Update(Table(1, 1, Node("a1", "a", "127.0.0.1:7001")));

        table.Update(Table(2, 1, Node(nodeId, "a", endpoint)));

        Assert.Equal([1, 2], published);
        Assert.Equal(endpoint, Assert.Single(table.Destinations).Value);
    }

    [Fact]
    public void Update_OlderVersion_Ignored()
    {
        var table = new GatewayRoutingTable();
        var current = Table(5, 1, Node("a1", "a", "127.0.0.1:7001"));
        table.Update(current);

        Assert.False(table.Update(Table(4, 1, Node("a2", "a", "127.0.0.1:7002"))));
        Assert.Same(current, table.Current);
    }

    [Fact]
    public void GetConfig_NodesChanged_NewConfigAndOldTokenSignalled()
    {
        var table = new GatewayRoutingTable();
        using var provider = new GatewayProxyConfigProvider(table, NullLogger<GatewayProxyConfigProvider>.Instance);
        var first = provider.GetConfig();
        Assert.Empty(first.Clusters[0].Destinations!);

        table.Update(Table(1, 1, Node("a1", "a", "127.0.0.1:7001"), Node("bad", "a", "not a host:port/x", 2)));
        var second = provider.GetConfig();
        table.Update(Table(2, 0.3, Node("a1", "a", "127.0.0.1:7001"), Node("bad", "a", "not a host:port/x", 2)));

        Assert.True(first.ChangeToken.HasChanged);
        Assert.False(second.ChangeToken.HasChanged);
        Assert.Same(second, provider.GetConfig());
        var destination = Assert.Single(second.Clusters[0].Destinations!);
        Assert.Equal(("a1", "http://127.0.0.1:7001"), (destination.Key, destination.Value.Address));
        Assert.Equal(DroverLoadBalancingPolicy.PolicyName, second.Clusters[0].LoadBalancingPolicy);
        Assert.All(second.Routes, r => Assert.Equal(GatewayProxyConfigProvider.RouteOrder, r.Order));
    }

    [Fact]
    public void GetConfig_ABurstOfChanges_PublishesTheLimitThenTheRestTogetherAtTheWindowsEnd()
    {
        var time = new FakeTimeProvider();
        var table = new GatewayRoutingTable();
        using var provider = new GatewayProxyConfigProvider(table, NullLogger<GatewayProxyConfigProvider>.Instance, time);
        RouteNode NodeN(int n) => Node($"a{n}", "a", $"127.0.0.1:{7000 + n}");

        // The first changes of a burst go out at once, up to the limit.
        for (var n = 1; n <= GatewayProxyConfigProvider.BurstLimit; n++)
        {
            table.Update(Table(n, 1, [.. Enumerable.Range(1, n).Select(NodeN)]));
            Assert.Equal(n, provider.GetConfig().Clusters[0].Destinations!.Count);
        }

        // Beyond it, nodes joining and leaving wait for the window's end, then go out together.
        var held = provider.GetConfig();
        table.Update(Table(10, 1, [.. Enumerable.Range(1, 5).Select(NodeN)]));
        table.Update(Table(11, 1, [.. Enumerable.Range(2, 5).Select(NodeN)]));
        Assert.Same(held, provider.GetConfig());

        time.Advance(GatewayProxyConfigProvider.BurstWindow - TimeSpan.FromMilliseconds(1));
        Assert.Same(held, provider.GetConfig());
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(held.ChangeToken.HasChanged);
        Assert.Equal(["a2", "a3", "a4", "a5", "a6"], provider.GetConfig().Clusters[0].Destinations!.Keys.Order());

        // Once the window has passed quietly, a change goes out at once again.
        time.Advance(GatewayProxyConfigProvider.BurstWindow);
        table.Update(Table(12, 1, NodeN(9)));
        Assert.Equal(["a9"], provider.GetConfig().Clusters[0].Destinations!.Keys);
    }
}
