using System.Text.Json.Serialization;
using Drover.Aggregator.Access;
using Drover.Aggregator.Functions;
using Drover.Aggregator.Services;
using Drover.Protocol;

namespace Drover.Aggregator.Api;

/// <summary>
/// The <c>/v1/keys</c> endpoints: the invocation keys of functions and services that are not
/// <c>public</c>. A key is shown once, in the answer that makes it; afterwards only its id, its
/// workload and when it was made.
/// </summary>
internal static class KeysApi
{
    public static void MapKeysApi(this IEndpointRouteBuilder app)
    {
        var keys = app.MapGroup("/v1/keys");
        keys.MapGet("/", (string? function, string? service, InvocationKeyStore store) =>
            Results.Ok(store.List(function is null && service is null ? null : new WorkloadRef(function, service)).Select(Shown)));
        keys.MapPost("/", CreateAsync);
        keys.MapDelete("/{id}", (string id, InvocationKeyStore store) =>
            store.Delete(id)
                ? Results.NoContent()
                : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such key", detail: $"No invocation key has id '{id}'."));
    }

    private static async Task<IResult> CreateAsync(HttpRequest request, InvocationKeyStore store, FunctionRegistry functions, ServiceRegistry services, TimeProvider time)
    {
        var (body, invalid) = await DefinitionBody.ReadAsync<KeyRequest>(request, "key request");
        if (invalid is not null)
        {
            return invalid;
        }

        if ((body!.Function is null) == (body.Service is null))
        {
            return BadRequest("body", "name exactly one of function and service: the workload the key invokes");
        }

        var of = new WorkloadRef(body.Function, body.Service);
        var name = body.Function ?? body.Service!;
        var field = body.Function is not null ? "function" : "service";
        if (!Names.IsName(name) || (body.Function is not null ? functions.Find(name) is null : services.Find(name) is null))
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: $"No such {field}", detail: $"No {field} named '{name}' is defined; define it before making its keys.");
        }

        if (store.Create(of, time.GetUtcNow()) is not { } made)
        {
            return BadRequest(field, $"{of} has {InvocationKeyStore.MaxPerWorkload} keys already; delete one (DELETE /v1/keys/{{id}}) first");
        }

        return Results.Created($"/v1/keys/{made.Record.Id}", new Made(made.Record.Id, made.Record.Function, made.Record.Service, made.Record.Created, made.Key));
    }

    private static Listed Shown(InvocationKey key) => new(key.Id, key.Function, key.Service, key.Created);

    private static IResult BadRequest(string field, string message) => DefinitionBody.BadRequest("key request", field, message);

    /// <summary>The body of <c>POST /v1/keys</c>.</summary>
    private sealed record KeyRequest(string? Function, string? Service);

    /// <summary>A key as listed: never the key, nor its hash.</summary>
    private sealed record Listed(
        string Id,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Function,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Service,
        DateTimeOffset Created);

    /// <summary>A key as made: the key itself, this once.</summary>
    private sealed record Made(
        string Id,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Function,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Service,
        DateTimeOffset Created,
        string Key);
}
