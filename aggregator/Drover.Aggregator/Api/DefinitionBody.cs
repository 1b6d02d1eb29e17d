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
        var (body, tooLarge) = await ReadBoundedAsync(request, what, what, MaxBodyBytes);
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
        catch (InvalidOperationException ex)
        {
            // System.Text.Json accepts an escaped lone surrogate ("\ud800") when it parses and throws
            // this only when the string is read: still the client's bad body, not a failure of ours.
            return (null, BadRequest(what, "body", $"the body is not a valid {what}: {ex.Message}"));
        }
    }

    /// <summary>
    /// A body that must be one JSON object (settings changed field by field), at most
    /// <paramref name="maxBytes"/>, or the 400 to answer. <paramref name="contents"/> says what the object
    /// holds, as it reads after "an object" in a refusal: <c>with weight, priority or both</c>; by default
    /// <c>of {what}s</c>.
    /// </summary>
    public static async Task<(JsonElement? Body, IResult? Invalid)> ReadObjectAsync(HttpRequest request, string what, string? contents = null, int maxBytes = MaxBodyBytes)
    {
        var (body, tooLarge) = await ReadBoundedAsync(request, what, "body", maxBytes);
        if (body is null)
        {
            return (null, tooLarge);
        }

        contents ??= $"of {what}s";
        if (body.Value.IsEmpty)
        {
            return (null, BadRequest(what, "body", $"the body is empty; expected a JSON object {contents}"));
        }

        try
        {
            using var document = JsonDocument.Parse(body.Value, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
            var kind = document.RootElement.ValueKind;
            return kind == JsonValueKind.Object
                ? (document.RootElement.Clone(), null)
                : (null, BadRequest(what, "body", $"the body is a JSON {kind.ToString().ToLowerInvariant()}; expected an object {contents}"));
        }
        catch (JsonException ex)
        {
            return (null, BadRequest(what, "body", $"the body is not valid JSON: {ex.Message}"));
        }
    }

    /// <summary>
    /// The body's bytes, at most <paramref name="maxBytes"/>, whatever Content-Length says (or does not
    /// say), or the refusal: too large, or not read whole (Kestrel's minimum data rate, a malformed
    /// chunked body). <paramref name="subject"/> names the body in the refusal.
    /// </summary>
    private static async Task<(ReadOnlyMemory<byte>? Body, IResult? TooLarge)> ReadBoundedAsync(HttpRequest request, string what, string subject, int maxBytes)
    {
        if (request.ContentLength > maxBytes)
        {
            return (null, BadRequest(what, "body", $"the {subject} is {request.ContentLength} bytes; expected at most {maxBytes}"));
        }

        // Read at most one byte past the limit.
        var body = new byte[maxBytes + 1];
        int length;
        try
        {
            length = await request.Body.ReadAtLeastAsync(body, body.Length, throwOnEndOfStream: false, request.HttpContext.RequestAborted);
        }
        catch (BadHttpRequestException ex)
        {
            // The server gave up on the body (it came slower than the minimum data rate, or was
            // malformed): the client's fault, answered as such rather than logged as a failure here.
            return (null, Results.Problem(statusCode: ex.StatusCode, title: $"Invalid {what}", detail: $"the {subject} could not be read: {ex.Message}", extensions: new Dictionary<string, object?> { ["field"] = "body" }));
        }

        if (length > maxBytes)
        {
            return (null, BadRequest(what, "body", $"the {subject} is more than {maxBytes} bytes; expected at most {maxBytes}"));
        }

        // JSON is UTF-8 (RFC 8259); the parser would otherwise pass bad bytes in a string on as U+FFFD,
        // storing a value the client never sent.
        return System.Text.Unicode.Utf8.IsValid(body.AsSpan(0, length))
            ? (body.AsMemory(0, length), null)
            : (null, BadRequest(what, "body", $"the {subject} is not UTF-8 text; expected JSON in UTF-8"));
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
        // A property named twice is refused as it is parsed: which of the two would count is not the
        // client's to leave to the parser (and JsonObject threw ArgumentException on it, a 500).
        var node = JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowDuplicateProperties = false });
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
