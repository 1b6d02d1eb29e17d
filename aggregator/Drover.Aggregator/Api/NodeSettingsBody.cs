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
        var (json, invalid) = await DefinitionBody.ReadObjectAsync(request, What, "with weight, priority or both", MaxBodyBytes);
        return json is { } settings ? Parse(settings) : (null, invalid);
    }

    private static (NodeSettingsBody?, IResult?) Parse(JsonElement settings)
    {
        var body = new NodeSettingsBody();
        foreach (var property in settings.EnumerateObject())
        {
            switch (property.Name)
            {
                case "weight":
                    var (weight, weightError) = Number(property, NodeLimits.MinWeight, NodeLimits.MaxWeight);
                    if (weightError is not null)
                    {
                        return (null, BadRequest(property.Name, weightError));
                    }

                    body._weightSet = true;
                    body._weight = weight;
                    break;
                case "priority":
                    var (priority, priorityError) = Number(property, NodeLimits.MinPriority, NodeLimits.MaxPriority);
                    if (priorityError is not null)
                    {
                        return (null, BadRequest(property.Name, priorityError));
                    }

                    body._prioritySet = true;
                    body._priority = priority;
                    break;
                default:
                    return (null, BadRequest(property.Name, $"{property.Name} is not a node setting; expected weight, priority or both"));
            }
        }

        return body._weightSet || body._prioritySet
            ? (body, null)
            : (null, BadRequest("body", "the body names no setting; expected weight, priority or both"));
    }

    /// <summary>The value (null for a JSON null), or why it is refused: not a whole number from <paramref name="min"/> to <paramref name="max"/>.</summary>
    private static (int? Value, string? Error) Number(JsonProperty property, int min, int max)
    {
        var accepted = $"a whole number from {min} to {max}, or null to clear the override";
        return WholeNumberField.Read(
            property,
            (name, number) => number < min || number > max ? $"{name} = '{number.ToString(CultureInfo.InvariantCulture)}': expected {accepted}" : null,
            (name, text) => $"{name} = '{text}': expected {accepted}");
    }

    private static IResult BadRequest(string field, string message) => DefinitionBody.BadRequest(What, field, message);
}
