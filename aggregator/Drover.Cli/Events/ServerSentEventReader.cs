using System.Text;

namespace Drover.Cli.Events;

/// <summary>
/// Reads a <c>text/event-stream</c> as the HTML standard says: fields until a blank line, <c>data</c> lines joined
/// with '\n', comment lines (<c>: keep-alive</c>) skipped, an event with no data not dispatched.
/// </summary>
internal sealed class ServerSentEventReader(TextReader reader)
{
    /// <summary>The longest line read; a longer one ends the stream as broken (the aggregator's events are a few KB).</summary>
    public const int MaxLineLength = 1024 * 1024;

    /// <summary>The next event, or null at the end of the stream.</summary>
    public async Task<ServerSentEvent?> ReadAsync(CancellationToken cancellationToken)
    {
        string? id = null;
        var name = "";
        var data = new StringBuilder();
        var hasData = false;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length > MaxLineLength)
            {
                throw new IOException($"the event stream sent a line of {line.Length} characters; expected at most {MaxLineLength}");
            }

            if (line.Length == 0)
            {
                if (hasData)
                {
                    return new ServerSentEvent(id, name.Length > 0 ? name : "message", data.ToString());
                }

                name = "";
                continue;
            }

            if (line[0] == ':')
            {
                continue;
            }

            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' '))
            {
                value = value[1..];
            }

            switch (field)
            {
                case "id":
                    id = value;
                    break;
                case "event":
                    name = value;
                    break;
                case "data":
                    if (hasData)
                    {
                        data.Append('\n');
                    }

                    data.Append(value);
                    hasData = true;
                    break;
            }
        }

        return null;
    }
}
