using Drover.Aggregator.Access;
using Drover.Aggregator.Balancers;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Placement;
using Drover.Aggregator.Services;
using Drover.Aggregator.Workloads;
using Drover.Protocol;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Api;

/// <summary>The <c>/v1/services</c> endpoints of the HTTP API.</summary>
internal static class ServicesApi
{
    /// <summary>A service's decisions: the one management route the gateway's service pattern also matches (a follower forwards it, FollowerHost).</summary>
    public const string DecisionsPath = "/v1/services/{name}/decisions";

    public static void MapServicesApi(this IEndpointRouteBuilder app)
    {
        var services = app.MapGroup("/v1/services");
        services.MapGet("/", (ServiceRegistry registry) => registry.All.Select(s => Hidden(s.Definition)));
        services.MapGet("/{name}", (string name, ServiceRegistry registry, ServiceController controller, ServiceRoutesPublisher routes, WorkloadStatsTable stats, NodeTable nodes, InstanceTable instances) =>
        {
            if (registry.Find(name) is not { } service)
            {
                return ServiceNotFound(name);
            }

            var all = instances.Snapshot();
            var document = WorkloadStatus.Document(Hidden(service.Definition), WorkloadKind.Service, name, stats, nodes, all.Where(i => WorkloadKeys.ServiceOf(i.Function) == name));
            document["activeVersion"] = service.ActiveVersion;
            document["sets"] = System.Text.Json.JsonSerializer.SerializeToNode(
                service.Sets.Select(set =>
                {
                    var key = WorkloadKeys.ServiceSet(name, set.Version);
                    return new
                    {
                        version = set.Version,
                        instanceCount = set.InstanceCount,
                        ready = all.Count(i => i.Function == key && i.Ready),
                        active = set.Version == service.ActiveVersion,
                    };
                }),
                WorkloadStatus.Json);
            document["rollout"] = controller.RolloutOf(name);
            document["routes"] = routes.Status(name) is { } table
                ? System.Text.Json.JsonSerializer.SerializeToNode(new { version = table.Version, instances = table.Instances, appliedBy = table.AppliedBy }, WorkloadStatus.Json)
                : null;
            return Results.Ok(document);
        });
        services.MapPut("/{name}", PutAsync);
        services.MapDelete("/{name}", (string name, ServiceRegistry registry, InvocationKeyStore keys, InstanceReconciler reconciler) =>
        {
            if (!registry.Delete(name))
            {
                return ServiceNotFound(name);
            }

            // A service defined again under this name starts with no keys.
            keys.DeleteAll(WorkloadRef.OfService(name));

            reconciler.Wake();
            return Results.NoContent();
        });
        services.MapGet(DecisionsPath["/v1/services".Length..], (string name, ServiceRegistry registry, DecisionLog decisions) =>
            registry.Find(name) is null
                ? ServiceNotFound(name)
                : Results.Ok(decisions.All.Where(d => d.Function == $"service/{name}" || WorkloadKeys.ServiceOf(d.Function) == name)));
    }

    private static async Task<IResult> PutAsync(string name, HttpRequest request, ServiceRegistry registry, InstanceReconciler reconciler, BalancerRegistry balancers)
    {
        if (!Names.IsName(name))
        {
            return BadRequest("name", $"name = '{name}': expected 1-63 characters of a-z 0-9 -, starting with a letter or digit");
        }

        if (balancers.All.FirstOrDefault(b => b.Service == name) is { } balancer)
        {
            // One table per service name: the containers a registered balancer serves under it are that service.
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "A balancer's service",
                detail: $"name = '{name}': balancer '{balancer.Name}' serves containers under this service name; name the Drover service differently, or delete the registration");
        }

        var (definition, invalid) = await DefinitionBody.ReadAsync<ServiceDefinition>(request, "service definition");
        if (invalid is not null)
        {
            return invalid;
        }

        if (definition!.Name.Length > 0 && definition.Name != name)
        {
            return BadRequest("name", $"name = '{definition.Name}' in the body differs from '{name}' in the URL");
        }

        definition = definition with { Name = name };
        var (runtime, hidden) = HiddenEnv.Keep(definition.Runtime, registry.Find(name)?.Definition.Runtime);
        if (hidden is { } keepError)
        {
            return BadRequest(keepError.Field, keepError.Message);
        }

        definition = definition with { Runtime = runtime };
        if (ServiceValidator.Validate(definition) is { } error)
        {
            return BadRequest(error.Field, error.Message);
        }

        var created = registry.Put(definition);

        // The loop acts on it: a new version through placement, other settings of the same version
        // by sending the running instances their spec again (SettingsFollowUp).
        reconciler.Wake();
        return created ? Results.Created($"/v1/services/{name}", Hidden(definition)) : Results.Ok(Hidden(definition));
    }

    /// <summary>The definition as the API shows it: environment values hidden (<see cref="HiddenEnv"/>).</summary>
    private static ServiceDefinition Hidden(ServiceDefinition definition) => definition with { Runtime = HiddenEnv.Hide(definition.Runtime) };

    private static IResult BadRequest(string field, string message) => DefinitionBody.BadRequest("service definition", field, message);

    private static IResult ServiceNotFound(string name)
        => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such service", detail: $"No service named '{name}' is defined.");
}
