using Drover.Protocol.V1;

namespace Drover.Agent.Shims;

/// <summary>One service's routing table as the aggregator last sent it, with its instance ids in order.</summary>
internal sealed class ServiceRouteTable
{
    public ServiceRouteTable(SetServiceRoutes routes)
    {
        Routes = routes;
        InstanceIds = routes.Routes.Select(r => r.InstanceId).ToList();
        EventHeaders = routes.EventHeaders.ToList();
    }

    public SetServiceRoutes Routes { get; }

    public string Service => Routes.Service;

    public ulong Version => Routes.RoutesVersion;

    public IReadOnlyList<string> InstanceIds { get; }

    public IReadOnlyList<string> EventHeaders { get; }
}
