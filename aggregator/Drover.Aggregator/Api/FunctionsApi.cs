using Drover.Aggregator.Access;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Functions;
using Drover.Aggregator.Placement;
using Drover.Protocol;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Api;

/// <summary>The <c>/v1/functions</c> endpoints of the HTTP API.</summary>
internal static class FunctionsApi
{
    public static void MapFunctionsApi(this IEndpointRouteBuilder app)
    {
        var functions = app.MapGroup("/v1/functions");
        functions.MapGet("/", (FunctionRegistry registry) => registry.All.Select(Hidden));
        functions.MapGet("/{name}", (string name, FunctionRegistry registry, WorkloadStatsTable stats, NodeTable nodes, InstanceTable instances, InstanceReconciler reconciler) =>
        {
            if (registry.Find(name) is not { } function)
            {
                return FunctionNotFound(name);
            }

            var mine = instances.Snapshot().Where(i => i.Function == name).ToArray();
            var document = WorkloadStatus.Document(Hidden(function), WorkloadKind.Function, name, stats, nodes, mine);

            // Autoscaled: what the last pass wanted; every-node: null (one per surviving node).
            document["desiredInstances"] = reconciler.DesiredInstances(name);
            document["runningInstances"] = mine.Count(i => i.State == "running");
            return Results.Ok(document);
        });
        functions.MapPut("/{name}", PutAsync);
        functions.MapDelete("/{name}", (string name, FunctionRegistry registry, InvocationKeyStore keys, InstanceReconciler reconciler) =>
        {
            if (!registry.Delete(name))
            {
                return FunctionNotFound(name);
            }

            // A function defined again under this name starts with no keys.
            keys.DeleteAll(WorkloadRef.OfFunction(name));

            reconciler.Wake();
            return Results.NoContent();
        });
        functions.MapGet("/{name}/instances", (string name, FunctionRegistry registry, InstanceTable instances) =>
            registry.Find(name) is null
                ? FunctionNotFound(name)
                : Results.Ok(instances.Snapshot().Where(i => i.Function == name).Select(InstanceResponse.From)));
        functions.MapGet("/{name}/decisions", (string name, FunctionRegistry registry, DecisionLog decisions) =>
            registry.Find(name) is null ? FunctionNotFound(name) : Results.Ok(decisions.For(name)));
    }

    private static async Task<IResult> PutAsync(string name, HttpRequest request, FunctionRegistry registry, InstanceReconciler reconciler)
    {
        if (!Names.IsName(name))
        {
            return BadRequest("name", $"name = '{name}': expected 1-63 characters of a-z 0-9 -, starting with a letter or digit");
        }

        var (definition, invalid) = await DefinitionBody.ReadAsync<FunctionDefinition>(request, "function definition");
        if (invalid is not null)
        {
            return invalid;
        }

        if (definition!.Name.Length > 0 && definition.Name != name)
        {
            return BadRequest("name", $"name = '{definition.Name}' in the body differs from '{name}' in the URL");
        }

        definition = (definition! with { Name = name }).WithDefaults();
        var (runtime, hidden) = HiddenEnv.Keep(definition.Runtime, registry.Find(name)?.Runtime);
        if (hidden is { } keepError)
        {
            return BadRequest(keepError.Field, keepError.Message);
        }

        definition = definition with { Runtime = runtime };
        if (FunctionValidator.Validate(definition) is { } error)
        {
            return BadRequest(error.Field, error.Message);
        }

        var created = registry.Put(definition);

        // The loop acts on it: a new version through placement, other settings of the same version
        // by sending the running instances their spec again (SettingsFollowUp).
        reconciler.Wake();
        return created ? Results.Created($"/v1/functions/{name}", Hidden(definition)) : Results.Ok(Hidden(definition));
    }

    /// <summary>The definition as the API shows it: environment values hidden (<see cref="HiddenEnv"/>).</summary>
    private static FunctionDefinition Hidden(FunctionDefinition definition) => definition with { Runtime = HiddenEnv.Hide(definition.Runtime) };

    private static IResult BadRequest(string field, string message) => DefinitionBody.BadRequest("function definition", field, message);

    private static IResult FunctionNotFound(string name)
        => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such function", detail: $"No function named '{name}' is defined.");
}
