using System.Text;
using Drover.Agent.Shims;
using Drover.Protocol.V1;

namespace Drover.Agent.Tests.Shims;

public sealed class ServiceRouterTests
{
    private static ServiceRouteTable Table(BalancingPolicy policy, params string[] instances)
    {
        var routes = new SetServiceRoutes { Service = "svc", RoutesVersion = 1, Policy = policy };
        routes.Routes.Add(instances.Select((id, i) => new ServiceRoute { InstanceId = id, NodeId = $"node-{i}", Address = $"10.0.0.{i + 1}:7411" }));
        return new ServiceRouteTable(routes);
    }

    [Theory]
    [InlineData(new[] { 3, 1, 2 }, "b")]
    [InlineData(new[] { 0, 0, 0 }, "a")]
    [InlineData(new[] { 2, 2, 1 }, "c")]
    [InlineData(new[] { 1, 0, 0 }, "b")]
    public void Choose_LeastInFlight_FewestThenFirstById(int[] inFlight, string expected)
    {
        var table = Table(BalancingPolicy.LeastInFlight, "a", "b", "c");
        var load = new Dictionary<string, int> { ["a"] = inFlight[0], ["b"] = inFlight[1], ["c"] = inFlight[2] };

        var route = new ServiceRouter(new Random(1)).Choose(table, default, hasKey: false, id => load[id]);

        Assert.Equal(expected, route!.InstanceId);
    }

    [Fact]
    public void Choose_PowerOfTwo_NeverTheBusierOfItsTwoAndUsesBoth()
    {
        var table = Table(BalancingPolicy.PowerOfTwoChoices, "a", "b");
        var router = new ServiceRouter(new Random(7));
        var load = new Dictionary<string, int> { ["a"] = 5, ["b"] = 0 };

        // Two routes: both are always drawn, so the idle one always wins.
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal("b", router.Choose(table, default, hasKey: false, id => load[id])!.InstanceId);
        }
    }

    [Fact]
    public void Choose_PowerOfTwo_EqualLoad_SpreadsOverAll()
    {
        var table = Table(BalancingPolicy.PowerOfTwoChoices, "a", "b", "c", "d");
        var router = new ServiceRouter(new Random(3));
        var load = new Dictionary<string, int>(StringComparer.Ordinal);

        for (var i = 0; i < 400; i++)
        {
            var id = router.Choose(table, default, hasKey: false, id => load.GetValueOrDefault(id))!.InstanceId;
            load[id] = load.GetValueOrDefault(id) + 1;
        }

        // Each request goes to the less loaded of two: the loads stay within a few of each other.
        Assert.Equal(4, load.Count);
        Assert.True(load.Values.Max() - load.Values.Min() <= 10, string.Join(",", load));
    }

    [Fact]
    public void Choose_WithKey_RendezvousRegardlessOfLoad()
    {
        var table = Table(BalancingPolicy.LeastInFlight, "a", "b", "c");
        var router = new ServiceRouter(new Random(1));
        foreach (var key in Enumerable.Range(0, 100).Select(i => $"k{i}"))
        {
            var bytes = Encoding.UTF8.GetBytes(key);
            var expected = table.InstanceIds[RendezvousHash.Choose(bytes, table.InstanceIds)];

            Assert.Equal(expected, router.Choose(table, bytes, hasKey: true, _ => 0)!.InstanceId);
            Assert.Equal(expected, router.Choose(table, bytes, hasKey: true, id => id == expected ? 100 : 0)!.InstanceId);
        }
    }

    [Fact]
    public void Choose_NoRoutes_Null() => Assert.Null(new ServiceRouter(new Random(1)).Choose(Table(BalancingPolicy.LeastInFlight), default, false, _ => 0));
}
