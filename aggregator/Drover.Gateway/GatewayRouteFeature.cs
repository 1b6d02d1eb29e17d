using Drover.Decisions.Routing;
using Drover.Protocol.V1;
using Microsoft.AspNetCore.Http;

namespace Drover.Gateway;

/// <summary>
/// One request's routing state, kept in its <see cref="HttpContext.Features"/>: the workload, the table
/// it is routed by (the current one again for its retry), the last choice, and the nodes that failed it.
/// </summary>
internal sealed class GatewayRouteFeature(string workload, RoutingTable table)
{
    /// <summary>The route value naming a function (<c>/v1/invoke/{function}/...</c>).</summary>
    public const string FunctionRouteValue = "function";

    private const string ServicePrefix = "service/";

    /// <summary>The route value naming a service (<c>/v1/services/{service}/...</c>).</summary>
    public const string ServiceRouteValue = "service";

    /// <summary>The key of <see cref="RoutingTable.Hosts"/>: a function's name, or <c>service/&lt;name&gt;</c>.</summary>
    public string Workload { get; } = workload;

    public RoutingTable Table { get; set; } = table;

    /// <summary>The last choice made for this request (null before the first).</summary>
    public RouteChoiceResult? Choice { get; set; }

    /// <summary>The nodes that failed this request before answering (skipped by the next pick); null while none has.</summary>
    public HashSet<string>? Failed { get; set; }

    /// <summary>The kind and name of a <see cref="Workload"/> key: <c>service/&lt;name&gt;</c> is a service, anything else a function.</summary>
    public static (WorkloadKind Kind, string Name) Split(string workload)
        => workload.StartsWith(ServicePrefix, StringComparison.Ordinal)
            ? (WorkloadKind.Service, workload[ServicePrefix.Length..])
            : (WorkloadKind.Function, workload);

    /// <summary>The workload a request of the gateway's routes is for, or null for another route.</summary>
    public static string? WorkloadOf(HttpContext context)
    {
        var values = context.Request.RouteValues;
        if (values.TryGetValue(FunctionRouteValue, out var function) && function is string name)
        {
            return name;
        }

        return values.TryGetValue(ServiceRouteValue, out var service) && service is string set ? ServicePrefix + set : null;
    }
}
