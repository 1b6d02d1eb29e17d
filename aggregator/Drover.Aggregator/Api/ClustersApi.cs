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
            var decision = monitor.Current ?? monitor.Preview();
            return Results.Ok(new
            {
                degraded = decision.Degraded,
                reason = decision.Reason,
                clusters = decision.Clusters.Select(c => ClusterResponse.From(c, registry.Settings(c.Name), decision)),
            });
        });
        clusters.MapGet("/{name}", (string name, ClusterHealthMonitor monitor, ClusterRegistry registry) =>
        {
            var decision = monitor.Current ?? monitor.Preview();
            return decision.Clusters.FirstOrDefault(c => c.Name == name) is { } status
                ? Results.Ok(ClusterResponse.From(status, registry.Settings(name), decision))
                : ClusterNotFound(name);
        });
        clusters.MapGet("/{name}/history", (string name, ClusterHealthMonitor monitor) =>
            monitor.History(name) is { } history ? Results.Ok(history) : ClusterNotFound(name));
        clusters.MapPut("/{name}", async (string name, HttpRequest request, ClusterHealthMonitor monitor, ClusterRegistry registry, TimeProvider time) =>
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

            // The health loop acts on the change; the answer is its decision, once taken.
            if (await AwaitEvaluationAsync(monitor, time, request.HttpContext.RequestAborted) is not { } decision)
            {
                return LoopBusy();
            }

            var status = decision.Clusters.First(c => c.Name == name);
            return Results.Ok(ClusterResponse.From(status, registry.Settings(name), decision));
        });

        var groups = app.MapGroup("/v1/cluster-groups");
        groups.MapGet("/", (ClusterHealthMonitor monitor, ClusterRegistry registry) =>
        {
            var modes = registry.Modes();
            var decision = monitor.Current ?? monitor.Preview();
            return decision.Clusters.Select(c => c.Group).Concat(modes.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
                .Select(g => new
                {
                    name = g,
                    mode = ClusterDefaults.ModeName(modes.GetValueOrDefault(g, Decisions.Health.BackupMode.AllMasters)),
                    clusters = decision.Clusters.Where(c => c.Group == g).Select(c => c.Name),
                });
        });
        groups.MapPut("/{name}", async (string name, HttpRequest request, ClusterHealthMonitor monitor, ClusterRegistry registry, TimeProvider time) =>
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

            return await AwaitEvaluationAsync(monitor, time, request.HttpContext.RequestAborted) is null
                ? LoopBusy()
                : Results.Ok(new { name, mode });
        });
    }

    /// <summary>How long a change waits for the health loop's decision on it.</summary>
    private static readonly TimeSpan EvaluationBound = TimeSpan.FromSeconds(30);

    /// <summary>The health loop's first decision after the change; null when it took longer than <see cref="EvaluationBound"/>.</summary>
    private static async Task<Decisions.Health.HealthDecision?> AwaitEvaluationAsync(ClusterHealthMonitor monitor, TimeProvider time, CancellationToken aborted)
    {
        try
        {
            return await monitor.NextEvaluationAsync().WaitAsync(EvaluationBound, time, aborted);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    private static IResult LoopBusy()
        => Results.Problem(
            statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "The health loop did not answer",
            detail: $"The setting is saved, but the health loop took no decision on it within {EvaluationBound.TotalSeconds} s; GET /v1/clusters shows it once taken.");

    private static IResult Invalid(string field, string reason) => DefinitionBody.BadRequest("cluster setting", field, reason);

    private static IResult ClusterNotFound(string name)
        => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such cluster", detail: $"No cluster named '{name}' is configured or named by a node.");
}
