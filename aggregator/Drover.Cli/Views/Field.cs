using System.Globalization;
using System.Text.Json;

namespace Drover.Cli.Views;

/// <summary>
/// Reads one field of the API's JSON as text for a cell, forgiving by design: a field an older or newer aggregator
/// does not send shows as empty rather than failing the whole table.
/// </summary>
internal static class Field
{
    public static JsonElement Get(JsonElement item, string name)
        => item.ValueKind == JsonValueKind.Object && item.TryGetProperty(name, out var value) ? value : default;

    /// <summary>A string, number or boolean as text; "" for null or missing; lists joined with ", ".</summary>
    public static string Text(JsonElement item, string name) => Text(Get(item, name));

    public static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString() ?? "",
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True => "yes",
        JsonValueKind.False => "no",
        JsonValueKind.Array => string.Join(", ", value.EnumerateArray().Select(Text)),
        JsonValueKind.Object => value.GetRawText(),
        _ => "",
    };

    public static double? Number(JsonElement item, string name)
        => Get(item, name) is { ValueKind: JsonValueKind.Number } value && value.TryGetDouble(out var number) ? number : null;

    public static bool? Bool(JsonElement item, string name) => Get(item, name).ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    /// <summary>The items of an array field (or of the value itself when <paramref name="name"/> is null); none when it is not an array.</summary>
    public static IEnumerable<JsonElement> Items(JsonElement value, string? name = null)
    {
        var array = name is null ? value : Get(value, name);
        return array.ValueKind == JsonValueKind.Array ? array.EnumerateArray() : [];
    }

    /// <summary>Milliseconds as a short age: 850ms, 3.2s, 4m05s, 2h10m.</summary>
    public static string Age(double? milliseconds)
    {
        if (milliseconds is not { } ms)
        {
            return "";
        }

        var span = TimeSpan.FromMilliseconds(Math.Max(0, ms));
        return span.TotalSeconds < 1 ? string.Create(CultureInfo.InvariantCulture, $"{ms:0}ms")
            : span.TotalMinutes < 1 ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.0}s")
            : span.TotalHours < 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalMinutes}m{span.Seconds:00}s")
            : span.TotalDays < 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours}h{span.Minutes:00}m")
            : string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalDays}d{span.Hours:00}h");
    }

    /// <summary>Bytes in GiB with one decimal.</summary>
    public static string GiB(double? bytes)
        => bytes is { } b ? string.Create(CultureInfo.InvariantCulture, $"{b / (1024d * 1024 * 1024):0.0}") : "";

    /// <summary>A number with at most <paramref name="decimals"/> decimals.</summary>
    public static string Decimal(double? value, int decimals = 1)
        => value is { } v ? Math.Round(v, decimals).ToString(CultureInfo.InvariantCulture) : "";
}
