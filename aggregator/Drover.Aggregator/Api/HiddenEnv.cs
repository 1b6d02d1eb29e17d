using Drover.Aggregator.Functions;

namespace Drover.Aggregator.Api;

/// <summary>
/// Environment values are secrets (database passwords, API keys): the API never answers them. Every
/// definition it returns has each value replaced by <see cref="Marker"/>, the names kept; a <c>PUT</c>
/// that sends <see cref="Marker"/> back for a name keeps the value stored for it, so a client can read
/// a definition, change it and write it back without wiping its environment.
/// </summary>
internal static class HiddenEnv
{
    /// <summary>What the API shows for every environment value; sent back in a PUT, it keeps the stored value.</summary>
    public const string Marker = "(hidden)";

    /// <summary><paramref name="runtime"/> with each environment value replaced by <see cref="Marker"/>.</summary>
    public static ProcessRuntimeDefinition Hide(ProcessRuntimeDefinition runtime)
        => runtime.Env.Count == 0 ? runtime : runtime with { Env = runtime.Env.ToDictionary(e => e.Key, _ => Marker, StringComparer.Ordinal) };

    /// <summary>
    /// <paramref name="sent"/> with each <see cref="Marker"/> value replaced by the value
    /// <paramref name="stored"/> holds for that name, or the field and message of the 400 to answer
    /// when nothing is stored for it (a new workload, or a name it did not have).
    /// </summary>
    public static (ProcessRuntimeDefinition Runtime, (string Field, string Message)? Error) Keep(ProcessRuntimeDefinition sent, ProcessRuntimeDefinition? stored)
    {
        if (sent.Env is null || !sent.Env.Values.Contains(Marker))
        {
            return (sent, null);
        }

        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in sent.Env)
        {
            if (value != Marker)
            {
                env[name] = value;
            }
            else if (stored?.Env.TryGetValue(name, out var kept) == true)
            {
                env[name] = kept;
            }
            else
            {
                return (sent, ($"runtime.env.{name}", $"runtime.env.{name} = '{Marker}': no value is stored for '{name}' to keep; '{Marker}' stands for the stored value, so send the value itself"));
            }
        }

        return (sent with { Env = env }, null);
    }
}
