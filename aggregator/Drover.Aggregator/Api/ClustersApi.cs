using System.Text.Json;
using Drover.Aggregator.Clusters;
using Drover.Aggregator.Configuration;
using Drover.Protocol;

namespace Drover.Aggregator.Api;

/// <summary>The <c>/v1/clusters</c> and <c>/v1/cluster-groups</c> endpoints of the HTTP API.</summary>
internal static class ClustersApi
{
    public static void MapClustersApi(this IEndpointRouteBuilder app)
    {
        var clusters = app.MapGroup("/v1/clusters");
        clusters.MapGet("/", (ClusterHealthMonitor monitor, ClusterRegistry registry) =>
        {
            var decision = monitor.Current ?? monitor.Evaluate();
            return Results.Ok(new
            {
                degraded = decision.Degraded,
                reason = decision.Reason,
                clusters = decision.Clusters.Select(c => ClusterResponse.From(c, registry.Settings(c.Name), decision)),
            });
        });
        clusters.MapGet("/{name}", (string name, ClusterHealthMonitor monitor, ClusterRegistry registry) =>
        {
            var decision = monitor.Current ?? monitor.Evaluate();
            return decision.Clusters.FirstOrDefault(c => c.Name == name) is { } status
                ? Results.Ok(ClusterResponse.From(status, registry.Settings(name), decision))
                : ClusterNotFound(name);
        });
        clusters.MapGet("/{name}/history", (string name, ClusterHealthMonitor monitor) =>
            monitor.History(name) is { } history ? Results.Ok(history) : ClusterNotFound(name));
        clusters.MapPut("/{name}", async (string name, HttpRequest request, ClusterHealthMonitor monitor, ClusterRegistry registry) =>
        {
            if (!Names.IsName(name))
            {
                return Invalid("name", $"'{name}' is not a cluster name; expected 1-63 characters of a-z 0-9 -, not starting with -");
            }

            var (body, invalid) = await DefinitionBody.ReadObjectAsync(request, "cluster setting");
            if (body is not { } element)
            {
                return invalid!;
            }

            if (registry.Put(name, element) is var (field, reason))
            {
                return Invalid(field, reason);
            }

            var decision = monitor.Evaluate();
            var status = decision.Clusters.First(c => c.Name == name);
            return Results.Ok(ClusterResponse.From(status, registry.Settings(name), decision));
        });

        var groups = app.MapGroup("/v1/cluster-groups");
        groups.MapGet("/", (ClusterHealthMonitor monitor, ClusterRegistry registry) =>
        {
            var modes = registry.Modes();
            var decision = monitor.Current ?? monitor.Evaluate();
            return decision.Clusters.Select(c => c.Group).Concat(modes.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
                .Select(g => new
                {
                    name = g,
                    mode = ClusterDefaults.ModeName(modes.GetValueOrDefault(g, Decisions.Health.BackupMode.AllMasters)),
                    clusters = decision.Clusters.Where(c => c.Group == g).Select(c => c.Name),
                });
        });
        groups.MapPut("/{name}", async (string name, HttpRequest request, ClusterHealthMonitor monitor, ClusterRegistry registry) =>
        {
            if (!Names.IsName(name))
            {
                return Invalid("name", $"'{name}' is not a group name; expected 1-63 characters of a-z 0-9 -, not starting with -");
            }

            var (body, invalid) = await DefinitionBody.ReadObjectAsync(request, "cluster setting");
            if (body is not { } element)
            {
                return invalid!;
            }

            if (element.EnumerateObject().Select(p => p.Name).FirstOrDefault(name => name != "mode") is { } unknown)
            {
                return Invalid(unknown, $"'{unknown}' is not a cluster group setting; expected mode");
            }

            var mode = element.TryGetProperty("mode", out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            if (registry.PutMode(name, mode) is { } reason)
            {
                return Invalid("mode", reason);
            }

            monitor.Evaluate();
            return Results.Ok(new { name, mode });
        });
    }

    private static IResult Invalid(string field, string reason) => DefinitionBody.BadRequest("cluster setting", field, reason);

    private static IResult ClusterNotFound(string name)
        => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such cluster", detail: $"No cluster named '{name}' is configured or named by a node.");
}
