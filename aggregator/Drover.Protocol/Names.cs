using System.Buffers;

namespace Drover.Protocol;

/// <summary>
/// The two naming rules of the agent link's contract (agent_link.proto), checked wherever an id or a
/// name enters: ids (node, instance, label keys) and names (clusters, functions).
/// </summary>
public static class Names
{
    public const int MaxIdLength = 64;
    public const int MaxNameLength = 63;

    private static readonly SearchValues<char> IdChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

    private static readonly SearchValues<char> NameChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789-");

    /// <summary>1 to <paramref name="maxLength"/> characters of A-Z a-z 0-9 . _ -.</summary>
    public static bool IsId(string? value, int maxLength = MaxIdLength)
        => value is { Length: > 0 } && value.Length <= maxLength && !value.AsSpan().ContainsAnyExcept(IdChars);

    /// <summary>The index of the first character outside the id alphabet, or -1.</summary>
    public static int IndexOfNonIdChar(string value) => value.AsSpan().IndexOfAnyExcept(IdChars);

    /// <summary>1-63 characters of a-z 0-9 -, not starting with -.</summary>
    public static bool IsName(string? value)
        => value is { Length: > 0 and <= MaxNameLength } && value[0] != '-' && !value.AsSpan().ContainsAnyExcept(NameChars);
}
