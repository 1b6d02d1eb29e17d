using Drover.Agent.Shims;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Agent.Tests.Shims;

public sealed class ServiceRouteTablesTests
{
    private static SetServiceRoutes Routes(ulong version, params string[] instances)
    {
        var routes = new SetServiceRoutes { Service = "svc", RoutesVersion = version };
        routes.Routes.Add(instances.Select(id => new ServiceRoute { InstanceId = id, NodeId = "node-1", Address = "127.0.0.1:7411" }));
        return routes;
    }

    [Fact]
    public void Apply_OlderVersion_Ignored()
    {
        var tables = new ServiceRouteTables(NullLogger<ServiceRouteTables>.Instance);
        Assert.Null(tables.Apply(Routes(5, "a", "b")));

        Assert.Null(tables.Apply(Routes(4, "c")));

        Assert.Equal(5UL, tables.Find("svc")!.Version);
        Assert.Equal(["a", "b"], tables.Find("svc")!.InstanceIds);
    }

    [Fact]
    public void Apply_Removed_Forgets()
    {
        var tables = new ServiceRouteTables(NullLogger<ServiceRouteTables>.Instance);
        tables.Apply(Routes(1, "a"));
        var removed = Routes(2);
        removed.Removed = true;

        Assert.Null(tables.Apply(removed));

        Assert.Null(tables.Find("svc"));
    }

    [Theory]
    [InlineData("Bad_Name", "a", "127.0.0.1:7411", "service")]
    [InlineData("svc", "bad id", "127.0.0.1:7411", "instance id")]
    [InlineData("svc", "a", "", "address")]
    [InlineData("svc", "a", "host:1/path", "address")]
    public void Apply_Invalid_NamesTheField(string service, string instanceId, string address, string field)
    {
        var tables = new ServiceRouteTables(NullLogger<ServiceRouteTables>.Instance);
        var routes = new SetServiceRoutes { Service = service, RoutesVersion = 1 };
        routes.Routes.Add(new ServiceRoute { InstanceId = instanceId, NodeId = "node-1", Address = address });

        Assert.Contains(field, tables.Apply(routes));
        Assert.Null(tables.Find(service));
    }
}
