using System.Text.Json;
using System.Text.Json.Nodes;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Functions;
using Drover.Aggregator.Placement;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Api;

/// <summary>The <c>/v1/functions</c> endpoints of the HTTP API.</summary>
internal static class FunctionsApi
{
    /// <summary>The largest function definition accepted.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
    };

    public static void MapFunctionsApi(this IEndpointRouteBuilder app)
    {
        var functions = app.MapGroup("/v1/functions");
        functions.MapGet("/", (FunctionRegistry registry) => registry.All);
        functions.MapGet("/{name}", (string name, FunctionRegistry registry, WorkloadStatsTable stats, NodeTable nodes, InstanceTable instances) =>
            registry.Find(name) is { } function
                ? Results.Ok(WorkloadStatus.Document(function, WorkloadKind.Function, name, stats, nodes, instances.Snapshot().Where(i => i.Function == name)))
                : FunctionNotFound(name));
        functions.MapPut("/{name}", PutAsync);
        functions.MapDelete("/{name}", (string name, FunctionRegistry registry, InstanceReconciler reconciler) =>
        {
            if (!registry.Delete(name))
            {
                return FunctionNotFound(name);
            }

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

        if (request.ContentLength > MaxBodyBytes)
        {
            return BadRequest("body", $"the definition is {request.ContentLength} bytes; expected at most {MaxBodyBytes}");
        }

        FunctionDefinition? definition;
        try
        {
            // Read at most one byte past the limit, whatever Content-Length says (or does not say).
            var body = new byte[MaxBodyBytes + 1];
            var length = await request.Body.ReadAtLeastAsync(body, body.Length, throwOnEndOfStream: false, request.HttpContext.RequestAborted);
            if (length > MaxBodyBytes)
            {
                return BadRequest("body", $"the definition is more than {MaxBodyBytes} bytes; expected at most {MaxBodyBytes}");
            }

            definition = ReadDefinition<FunctionDefinition>(body.AsSpan(0, length), Json);
        }
        catch (JsonException ex)
        {
            return BadRequest(ex.Path ?? "body", $"the body is not a valid function definition: {ex.Message}");
        }

        if (definition is null)
        {
            return BadRequest("body", "the body is empty; expected a JSON function definition");
        }

        if (definition.Name.Length > 0 && definition.Name != name)
        {
            return BadRequest("name", $"name = '{definition.Name}' in the body differs from '{name}' in the URL");
        }

        definition = definition with { Name = name };
        if (FunctionValidator.Validate(definition) is { } error)
        {
            return BadRequest(error.Field, error.Message);
        }

        var created = registry.Put(definition);
        reconciler.Wake();
        return created ? Results.Created($"/v1/functions/{name}", definition) : Results.Ok(definition);
    }

    /// <summary>
    /// Reads a definition, leaving out the read-only fields a GET adds (<see cref="WorkloadStatus"/>), so
    /// what a client read can be written back as it is; any other unknown field is refused.
    /// </summary>
    public static T? ReadDefinition<T>(ReadOnlySpan<byte> body, JsonSerializerOptions options)
        where T : class
    {
        var node = JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        if (node is JsonObject document)
        {
            foreach (var field in document.Select(p => p.Key).Where(WorkloadStatus.ReadOnlyFields.Contains).ToArray())
            {
                document.Remove(field);
            }
        }

        return node?.Deserialize<T>(options);
    }

    private static IResult BadRequest(string field, string message)
        => Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid function definition", detail: message, extensions: new Dictionary<string, object?> { ["field"] = field });

    private static IResult FunctionNotFound(string name)
        => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such function", detail: $"No function named '{name}' is defined.");
}
