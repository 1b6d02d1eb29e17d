using System.Text.Json;

namespace Drover.Aggregator.Api;

/// <summary>
/// Reads a whole-number field of a settings body changed field by field (<c>PUT /v1/nodes/{nodeId}</c>,
/// <c>PUT /v1/clusters/{name}</c>), where a JSON null clears the field.
/// </summary>
internal static class WholeNumberField
{
    /// <summary>
    /// The field's value (null for a JSON null), or why it is refused: <paramref name="check"/> words the
    /// refusal of a whole number (from the field's name and the number), <paramref name="notWhole"/> that of
    /// anything else (from the field's name and its JSON text; by default <c>name = text: expected a whole number</c>).
    /// </summary>
    public static (int? Value, string? Error) Read(JsonProperty property, Func<string, int, string?> check, Func<string, string, string>? notWhole = null)
    {
        var value = property.Value;
        if (value.ValueKind == JsonValueKind.Null)
        {
            return (null, null);
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number))
        {
            var text = value.GetRawText();
            return (null, notWhole?.Invoke(property.Name, text) ?? $"{property.Name} = {text}: expected a whole number");
        }

        return check(property.Name, number) is { } error ? (null, error) : (number, null);
    }
}
