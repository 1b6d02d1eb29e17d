using System.Globalization;
using System.Text.Json;
using Drover.Aggregator.Fleet;
using Drover.Protocol.Nodes;

namespace Drover.Aggregator.Api;

/// <summary>
/// The body of <c>PUT /v1/nodes/{nodeId}</c>: <c>{"weight": 0-1000, "priority": -1000..1000}</c>, either
/// or both. A field left out keeps its override; a field set to <c>null</c> clears it (the agent's
/// value applies again). Unknown fields are refused, so a typo is not a silent no-op.
/// </summary>
internal sealed class NodeSettingsBody
{
    /// <summary>The largest body accepted: two small numbers and some white space.</summary>
    public const int MaxBodyBytes = 4096;

    private const string What = "node settings";

    private bool _weightSet;
    private int? _weight;
    private bool _prioritySet;
    private int? _priority;

    /// <summary>The override as this body changes it.</summary>
    public NodeOverride Apply(NodeOverride current) => current with
    {
        Weight = _weightSet ? _weight : current.Weight,
        Priority = _prioritySet ? _priority : current.Priority,
    };

    /// <summary>The body, or the 400 to answer, naming the field, the value and what is accepted.</summary>
    public static async Task<(NodeSettingsBody? Body, IResult? Invalid)> ReadAsync(HttpRequest request)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return (null, BadRequest("body", $"the body is {request.ContentLength} bytes; expected at most {MaxBodyBytes}"));
        }

        var buffer = new byte[MaxBodyBytes + 1];
        var length = await request.Body.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, request.HttpContext.RequestAborted);
        if (length > MaxBodyBytes)
        {
            return (null, BadRequest("body", $"the body is more than {MaxBodyBytes} bytes; expected at most {MaxBodyBytes}"));
        }

        try
        {
            return Parse(buffer.AsSpan(0, length).ToArray());
        }
        catch (JsonException ex)
        {
            return (null, BadRequest("body", $"the body is not valid JSON: {ex.Message}"));
        }
    }

    private static (NodeSettingsBody?, IResult?) Parse(byte[] json)
    {
        if (json.Length == 0)
        {
            return (null, BadRequest("body", "the body is empty; expected a JSON object with weight, priority or both"));
        }

        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            return (null, BadRequest("body", $"the body is a JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()}; expected an object with weight, priority or both"));
        }

        var body = new NodeSettingsBody();
        foreach (var property in document.RootElement.EnumerateObject())
        {
            switch (property.Name)
            {
                case "weight":
                    if (Number(property, NodeLimits.MinWeight, NodeLimits.MaxWeight) is { } weightError)
                    {
                        return (null, weightError);
                    }

                    body._weightSet = true;
                    body._weight = property.Value.ValueKind == JsonValueKind.Null ? null : property.Value.GetInt32();
                    break;
                case "priority":
                    if (Number(property, NodeLimits.MinPriority, NodeLimits.MaxPriority) is { } priorityError)
                    {
                        return (null, priorityError);
                    }

                    body._prioritySet = true;
                    body._priority = property.Value.ValueKind == JsonValueKind.Null ? null : property.Value.GetInt32();
                    break;
                default:
                    return (null, BadRequest(property.Name, $"{property.Name} is not a node setting; expected weight, priority or both"));
            }
        }

        return body._weightSet || body._prioritySet
            ? (body, null)
            : (null, BadRequest("body", "the body names no setting; expected weight, priority or both"));
    }

    /// <summary>Null when the value is null or a whole number in range; else the 400.</summary>
    private static IResult? Number(JsonProperty property, int min, int max)
    {
        var value = property.Value;
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var accepted = $"a whole number from {min} to {max}, or null to clear the override";
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number))
        {
            return BadRequest(property.Name, $"{property.Name} = '{value.GetRawText()}': expected {accepted}");
        }

        return number < min || number > max
            ? BadRequest(property.Name, $"{property.Name} = '{number.ToString(CultureInfo.InvariantCulture)}': expected {accepted}")
            : null;
    }

    private static IResult BadRequest(string field, string message) => DefinitionBody.BadRequest(What, field, message);
}
