using System.Globalization;
using System.Text;
using Drover.Protocol.Events;

namespace Drover.Aggregator.Events;

/// <summary>
/// Where a subscriber is on each channel it has seen: the last sequence number per channel. Written
/// as the SSE id of every message (<c>function/counter:12,service/web:3</c>) and read back from
/// <c>Last-Event-ID</c> or <c>?after=</c>, so a reconnecting client resumes each channel after its number.
/// </summary>
/// <remarks>
/// At most <see cref="MaxChannels"/> channels are kept, the most recently advanced ones: the id is
/// sent with every message and comes back in a request header, so it must stay small.
/// </remarks>
internal sealed class EventCursor
{
    public const int MaxChannels = 256;

    private readonly OrderedDictionary<string, ulong> _positions = new(StringComparer.Ordinal);

    public int Count => _positions.Count;

    public IEnumerable<KeyValuePair<string, ulong>> Positions => _positions;

    /// <summary>The last sequence seen on <paramref name="channel"/>, or null when the cursor does not name it.</summary>
    public ulong? Get(string channel) => _positions.TryGetValue(channel, out var sequence) ? sequence : null;

    /// <summary>Records <paramref name="sequence"/> as the last seen on <paramref name="channel"/>; the least recently advanced channel is forgotten beyond <see cref="MaxChannels"/>.</summary>
    public void Advance(string channel, ulong sequence)
    {
        if (_positions.Remove(channel) is false && _positions.Count >= MaxChannels)
        {
            _positions.RemoveAt(0);
        }

        _positions.Add(channel, sequence);
    }

    /// <summary>Parses <c>channel:sequence</c> pairs separated by commas; an empty text is an empty cursor.</summary>
    public static (EventCursor? Cursor, string? Error) Parse(string? text)
    {
        var cursor = new EventCursor();
        if (string.IsNullOrEmpty(text))
        {
            return (cursor, null);
        }

        var entries = text.Split(',');
        if (entries.Length > MaxChannels)
        {
            return (null, $"names {entries.Length} channels; expected at most {MaxChannels}");
        }

        foreach (var entry in entries)
        {
            var colon = entry.LastIndexOf(':');
            var channel = colon < 0 ? entry : entry[..colon];
            if (colon < 0 || EventChannels.Split(channel) is null)
            {
                return (null, $"entry '{Cut(entry)}' is not <channel>:<sequence> with a channel function/, service/, cluster/ or decisions/<name>");
            }

            if (!ulong.TryParse(entry.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
            {
                return (null, $"entry '{Cut(entry)}' has no whole number after the colon");
            }

            if (!cursor._positions.TryAdd(channel, sequence))
            {
                return (null, $"names channel '{channel}' twice");
            }
        }

        return (cursor, null);
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (var (channel, sequence) in _positions)
        {
            if (text.Length > 0)
            {
                text.Append(',');
            }

            text.Append(channel).Append(':').Append(sequence.ToString(CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    private static string Cut(string value) => value.Length <= 80 ? value : value[..80] + "...";
}
