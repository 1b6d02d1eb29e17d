using Drover.Protocol;

namespace Drover.Aggregator.Balancers;

/// <summary>The values a load-balancing association matches on (a database shard, a site), checked where they enter.</summary>
internal static class LbLabels
{
    /// <summary>The longest shard or site name.</summary>
    public const int MaxLength = 63;

    /// <summary>What a shard or site name may be, for errors.</summary>
    public const string Accepted = "1-63 characters of A-Z a-z 0-9 . _ -";

    /// <summary>Whether <paramref name="value"/> is 1-63 characters of A-Z a-z 0-9 . _ -.</summary>
    public static bool IsLabel(string? value) => Names.IsId(value, MaxLength);

    /// <summary>Null when <paramref name="value"/> is unset or a label, else the error naming <paramref name="field"/>.</summary>
    public static (string Field, string Message)? Check(string field, string? value)
        => value is null || IsLabel(value) ? null : (field, $"{field} = '{value}': expected {Accepted}");
}
