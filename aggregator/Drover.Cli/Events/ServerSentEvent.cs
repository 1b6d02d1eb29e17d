using System.Text.Json;

namespace Drover.Cli.Events;

/// <summary>One server-sent event: its id (the aggregator's cursor), its name (<c>message</c> when none was sent) and its data.</summary>
internal sealed record ServerSentEvent(string? Id, string Event, string Data)
{
    /// <summary>The data as JSON; null when it is not JSON.</summary>
    public JsonElement? DataJson()
    {
        try
        {
            using var document = JsonDocument.Parse(Data);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
