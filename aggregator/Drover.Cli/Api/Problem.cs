using System.Text.Json;

namespace Drover.Cli.Api;

/// <summary>
/// An error answer as one line: the status, and the problem detail's title, detail and the field or parameter it
/// names (RFC 9457, as the aggregator answers every refusal), or the start of the body when it is not a problem.
/// </summary>
internal static class Problem
{
    private const int MaxBodyShown = 300;

    public static string Describe(int statusCode, string reasonPhrase, string body)
    {
        var status = $"{statusCode} {reasonPhrase}".Trim();
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                var title = Text(root, "title");
                var detail = Text(root, "detail");
                var named = Text(root, "field") is { } field ? $" [field: {field}]"
                    : Text(root, "parameter") is { } parameter ? $" [parameter: {parameter}]"
                    : "";
                if (title is not null || detail is not null)
                {
                    var head = title is null || title == reasonPhrase ? status : $"{status}, {title}";
                    return detail is null ? head + named : $"{head}: {detail}{named}";
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON: shown as text below.
        }

        var text = body.ReplaceLineEndings(" ").Trim();
        return text.Length == 0 ? status : $"{status}: {(text.Length > MaxBodyShown ? text[..MaxBodyShown] + "..." : text)}";
    }

    private static string? Text(JsonElement root, string name)
        => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;
}
