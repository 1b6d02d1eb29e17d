namespace Drover.Cli.Events;

/// <summary>One server-sent event: its id (the aggregator's cursor), its name (<c>message</c> when none was sent) and its data.</summary>
internal sealed record ServerSentEvent(string? Id, string Event, string Data);
