using Drover.Protocol;

namespace Drover.Agent.Instances;

/// <summary>
/// Instance ids key state directories on disk, so they are checked before they touch a path: no
/// separators, no <c>..</c>, bounded length.
/// </summary>
internal static class InstanceIds
{
    public const int MaxLength = Names.MaxIdLength;

    /// <summary>Null when <paramref name="id"/> is a valid instance id, else why not.</summary>
    public static string? Validate(string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            return "instanceId is empty; expected 1-64 characters of A-Z a-z 0-9 . _ -";
        }

        if (id.Length > MaxLength)
        {
            return $"instanceId is {id.Length} characters; expected at most {MaxLength}";
        }

        if (id is "." or ".." || id.Contains("..", StringComparison.Ordinal))
        {
            return $"instanceId = '{id}' contains '..'; expected a plain name";
        }

        var bad = Names.IndexOfNonIdChar(id);
        return bad < 0 ? null : $"instanceId = '{id}' contains '{id[bad]}'; expected only A-Z a-z 0-9 . _ - (no path separators)";
    }
}
