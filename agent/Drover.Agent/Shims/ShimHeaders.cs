using System.Globalization;
using Drover.Protocol.Http;

namespace Drover.Agent.Shims;

/// <summary>The checks of the headers a client sets on the node port's common interface (names: <see cref="DroverHeaders"/>).</summary>
internal static class ShimHeaders
{
    public const int MaxCallIdLength = 128;

    /// <summary>The call id to use: the client's when acceptable, a new one when absent; null with the reason when refused.</summary>
    public static (string? CallId, string? Error) ParseCallId(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return (Guid.NewGuid().ToString("N"), null);
        }

        if (value.Length > MaxCallIdLength)
        {
            return (null, $"{DroverHeaders.CallId} is {value.Length} characters long; expected at most {MaxCallIdLength} printable ASCII characters");
        }

        foreach (var c in value)
        {
            if (c is < (char)0x20 or > (char)0x7e)
            {
                return (null, $"{DroverHeaders.CallId} contains the character U+{(int)c:X4}; expected printable ASCII only");
            }
        }

        return (value, null);
    }

    /// <summary>
    /// The time the request may take: the client's <see cref="DroverHeaders.TimeoutMs"/> bounded by the workload's
    /// own, or the workload's when absent; null with the reason when the header is not a positive integer.
    /// </summary>
    public static (TimeSpan? Timeout, string? Error) ParseTimeout(string? value, TimeSpan limit)
    {
        if (string.IsNullOrEmpty(value))
        {
            return (limit, null);
        }

        if (!value.All(char.IsAsciiDigit) || value.All(c => c == '0'))
        {
            return (null, $"{DroverHeaders.TimeoutMs} = '{Truncate(value)}'; expected a positive whole number of milliseconds");
        }

        if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
        {
            // More digits than a long holds: longer than any workload's limit.
            return (limit, null);
        }

        var asked = ms >= (long)limit.TotalMilliseconds ? limit : TimeSpan.FromMilliseconds(ms);
        return (asked, null);
    }

    private static string Truncate(string value) => value.Length <= 32 ? value : string.Concat(value.AsSpan(0, 32), "...");
}
