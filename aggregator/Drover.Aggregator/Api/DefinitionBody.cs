using System.Text.Json;
using System.Text.Json.Nodes;

namespace Drover.Aggregator.Api;

/// <summary>Reads the JSON definition a <c>PUT</c> carries: bounded, strict, and tolerant of what a <c>GET</c> added.</summary>
internal static class DefinitionBody
{
    /// <summary>The largest definition accepted.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
    };

    /// <summary>The definition, or the 400 to answer, naming the field.</summary>
    public static async Task<(T? Definition, IResult? Invalid)> ReadAsync<T>(HttpRequest request, string what)
        where T : class
    {
        var (body, tooLarge) = await ReadBoundedAsync(request, what);
        if (body is null)
        {
            return (null, tooLarge);
        }

        try
        {
            var definition = Parse<T>(body.Value.Span);
            return definition is null
                ? (null, BadRequest(what, "body", $"the body is empty; expected a JSON {what}"))
                : (definition, null);
        }
        catch (JsonException ex)
        {
            return (null, BadRequest(what, ex.Path ?? "body", $"the body is not a valid {what}: {ex.Message}"));
        }
    }

    /// <summary>A body that must be one JSON object (settings changed field by field), or the 400 to answer.</summary>
    public static async Task<(JsonElement? Body, IResult? Invalid)> ReadObjectAsync(HttpRequest request, string what)
    {
        var (body, tooLarge) = await ReadBoundedAsync(request, what);
        if (body is null)
        {
            return (null, tooLarge);
        }

        try
        {
            using var document = JsonDocument.Parse(body.Value, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? (document.RootElement.Clone(), null)
                : (null, BadRequest(what, "body", $"the body is {document.RootElement.ValueKind}; expected a JSON object of {what}s"));
        }
        catch (JsonException ex)
        {
            return (null, BadRequest(what, "body", $"the body is not JSON: {ex.Message}"));
        }
    }

    /// <summary>The body's bytes, at most <see cref="MaxBodyBytes"/>, whatever Content-Length says (or does not say).</summary>
    private static async Task<(ReadOnlyMemory<byte>? Body, IResult? TooLarge)> ReadBoundedAsync(HttpRequest request, string what)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return (null, BadRequest(what, "body", $"the {what} is {request.ContentLength} bytes; expected at most {MaxBodyBytes}"));
        }

        // Read at most one byte past the limit.
        var body = new byte[MaxBodyBytes + 1];
        var length = await request.Body.ReadAtLeastAsync(body, body.Length, throwOnEndOfStream: false, request.HttpContext.RequestAborted);
        return length > MaxBodyBytes
            ? (null, BadRequest(what, "body", $"the {what} is more than {MaxBodyBytes} bytes; expected at most {MaxBodyBytes}"))
            : (body.AsMemory(0, length), null);
    }

    public static IResult BadRequest(string what, string field, string message)
        => Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: $"Invalid {what}", detail: message, extensions: new Dictionary<string, object?> { ["field"] = field });

    /// <summary>
    /// Parses a definition, leaving out the read-only fields a GET adds (<see cref="WorkloadStatus"/>),
    /// so what a client read can be written back as it is; any other unknown field is refused.
    /// </summary>
    private static T? Parse<T>(ReadOnlySpan<byte> body)
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

        return node?.Deserialize<T>(Json);
    }
}
