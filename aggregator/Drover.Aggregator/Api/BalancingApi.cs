using Drover.Aggregator.Balancers;
using Drover.Aggregator.Services;
using Drover.Decisions.Balancing;
using Drover.Protocol;

namespace Drover.Aggregator.Api;

/// <summary>
/// The load-balancing endpoints of the HTTP API (issue 18): <c>/v1/balancers</c>, the registered container balancers
/// (writes need an admin token, as every write does), and <c>/v1/lb</c>, the coordinated tables and the associations.
/// </summary>
internal static class BalancingApi
{
    public static void MapBalancingApi(this IEndpointRouteBuilder app)
    {
        var balancers = app.MapGroup("/v1/balancers");
        balancers.MapGet("/", (BalancerRegistry registry, LoadBalancingCoordinator coordinator) =>
            registry.All.Select(r => Document(r, coordinator.View.Balancers.GetValueOrDefault(r.Name))));
        balancers.MapGet("/{name}", (string name, BalancerRegistry registry, LoadBalancingCoordinator coordinator) =>
            registry.Find(name) is { } registration
                ? Results.Ok(Document(registration, coordinator.View.Balancers.GetValueOrDefault(name)))
                : NotFound(name));
        balancers.MapPut("/{name}", PutAsync);
        balancers.MapDelete("/{name}", (string name, BalancerRegistry registry) => registry.Delete(name) ? Results.NoContent() : NotFound(name));

        // A balancer's request to be read now (its configuration changed), rather than at the next poll.
        balancers.MapPost("/{name}/sync", (string name, BalancerRegistry registry, LoadBalancingCoordinator coordinator) =>
        {
            if (registry.Find(name) is null)
            {
                return NotFound(name);
            }

            coordinator.Wake();
            return Results.Accepted($"/v1/balancers/{name}");
        });

        var lb = app.MapGroup("/v1/lb");
        lb.MapGet("/services/{name}", (string name, LoadBalancingCoordinator coordinator) => Table(coordinator, LbSide.Service, name));
        lb.MapGet("/functions/{name}", (string name, LoadBalancingCoordinator coordinator) => Table(coordinator, LbSide.Function, name));
        lb.MapGet("/associations", (LoadBalancingCoordinator coordinator) => coordinator.View.Associations.Select(a => new
        {
            function = a.Function,
            service = a.Service,
            scope = a.Scope,
            pairs = a.Pairs.Select(p => new { container = p.ContainerId, functionInstance = p.FunctionInstanceId }),
            conflicts = a.Conflicts,
            coordinated = a.NotCoordinated is null,
            notCoordinated = a.NotCoordinated,
        }));
    }

    private static async Task<IResult> PutAsync(string name, HttpRequest request, BalancerRegistry registry, ServiceRegistry services, LoadBalancingCoordinator coordinator)
    {
        if (!Names.IsName(name))
        {
            return BadRequest("name", $"name = '{name}': expected 1-63 characters of a-z 0-9 -, starting with a letter or digit");
        }

        var (registration, invalid) = await DefinitionBody.ReadAsync<BalancerRegistration>(request, "balancer registration");
        if (invalid is not null)
        {
            return invalid;
        }

        if (registration!.Name.Length > 0 && registration.Name != name)
        {
            return BadRequest("name", $"name = '{registration.Name}' in the body differs from '{name}' in the URL");
        }

        registration = registration with { Name = name };
        if (BalancerValidator.Validate(registration) is { } error)
        {
            return BadRequest(error.Field, error.Message);
        }

        if (registry.All.FirstOrDefault(r => r.Service == registration.Service && r.Name != name) is { } other)
        {
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Service balanced already",
                detail: $"service = '{registration.Service}': balancer '{other.Name}' balances it already; one balancer per service (change or delete '{other.Name}')");
        }

        if (services.Find(registration.Service) is not null)
        {
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "A Drover service",
                detail: $"service = '{registration.Service}': a Drover service of that name is defined, and the gateway balances it; name the containers' service differently");
        }

        var created = registry.Put(registration);
        coordinator.Wake();
        return created ? Results.Created($"/v1/balancers/{name}", registration) : Results.Ok(registration);
    }

    private static IResult Table(LoadBalancingCoordinator coordinator, LbSide side, string name)
        => coordinator.View.Document(side, name) is { } document
            ? Results.Ok(document)
            : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such table",
                detail: $"No load-balancing table of {(side == LbSide.Service ? "service" : "function")} '{name}' is held: it is not defined, takes part in no association (colocateWith, dbShard, a registered balancer), or the first coordination pass has not run yet.");

    private static object Document(BalancerRegistration registration, BalancerStatus? status) => new
    {
        registration.Name,
        registration.Kind,
        registration.RuntimeApi,
        registration.Backend,
        registration.Service,
        registration.Policy,
        registration.Servers,
        status = status is null ? "not read yet" : status.Error is null ? "ok" : "failing",
        lastReadAt = status?.LastReadAt,
        serversRead = status?.Servers,
        error = status?.Error,
    };

    private static IResult BadRequest(string field, string message) => DefinitionBody.BadRequest("balancer registration", field, message);

    private static IResult NotFound(string name)
        => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such balancer", detail: $"No balancer named '{name}' is registered.");
}
