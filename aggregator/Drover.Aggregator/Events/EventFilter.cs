namespace Drover.Aggregator.Events;

/// <summary>Which messages a subscriber receives: those of the named channels (all when null), and of one call id when set.</summary>
internal sealed record EventFilter(IReadOnlyList<string>? Channels, string? CallId)
{
    public static EventFilter AllChannels { get; } = new(null, null);

    public static EventFilter Channel(string channel) => new([channel], null);

    public bool MatchesCallId(string callId) => CallId is null || string.Equals(CallId, callId, StringComparison.Ordinal);
}
