namespace Drover.Aggregator.Events;

/// <summary>
/// The channels status messages travel on: <c>function/&lt;name&gt;</c> and <c>service/&lt;name&gt;</c>,
/// the name following <see cref="Names.IsName"/>.
/// </summary>
internal static class EventChannels
{
    public const string FunctionPrefix = "function/";
    public const string ServicePrefix = "service/";

    /// <summary>The longest channel: the longer prefix and the longest name.</summary>
    public const int MaxLength = 8 + 1 + Names.MaxNameLength;

    public static string Function(string name) => FunctionPrefix + name;

    public static string Service(string name) => ServicePrefix + name;

    /// <summary>Whether <paramref name="channel"/> is <c>function/&lt;name&gt;</c> or <c>service/&lt;name&gt;</c>.</summary>
    public static bool IsValid(string? channel) => Split(channel) is not null;

    /// <summary>The kind (<c>function</c> or <c>service</c>) and the name of a valid channel; null for anything else.</summary>
    public static (string Kind, string Name)? Split(string? channel)
    {
        if (channel is null)
        {
            return null;
        }

        if (channel.StartsWith(FunctionPrefix, StringComparison.Ordinal) && Names.IsName(channel[FunctionPrefix.Length..]))
        {
            return ("function", channel[FunctionPrefix.Length..]);
        }

        if (channel.StartsWith(ServicePrefix, StringComparison.Ordinal) && Names.IsName(channel[ServicePrefix.Length..]))
        {
            return ("service", channel[ServicePrefix.Length..]);
        }

        return null;
    }
}
