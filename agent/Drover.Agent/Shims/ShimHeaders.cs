using System.Globalization;

namespace Drover.Agent.Shims;

/// <summary>The headers of the node port's common interface, and the checks of those a client sets.</summary>
internal static class ShimHeaders
{
    public const string CallId = "X-Drover-Call-Id";
    public const string TimeoutMs = "X-Drover-Timeout-Ms";
    public const string Node = "X-Drover-Node";
    public const string Instance = "X-Drover-Instance";

    /// <summary>Set by a node that forwards a service request to another node: only that instance may serve it.</summary>
    public const string RouteInstance = "X-Drover-Route-Instance";

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
            return (null, $"{CallId} is {value.Length} characters long; expected at most {MaxCallIdLength} printable ASCII characters");
        }

        foreach (var c in value)
        {
            if (c is < (char)0x20 or > (char)0x7e)
            {
                return (null, $"{CallId} contains the character U+{(int)c:X4}; expected printable ASCII only");
            }
        }

        return (value, null);
    }

    /// <summary>
    /// The time the request may take: the client's <see cref="TimeoutMs"/> bounded by the workload's
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
            return (null, $"{TimeoutMs} = '{Truncate(value)}'; expected a positive whole number of milliseconds");
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
