using Drover.Agent.Configuration;
using Drover.Protocol.V1;

namespace Drover.Agent.Instances;

/// <summary>
/// The agent's runtime allowlist (<c>runtimes</c>): which executables an instance may run, as which
/// user, and which protected environment variables the aggregator may set for it. A command is
/// allowed when it is an absolute path without <c>.</c> or <c>..</c> segments whose resolved path
/// (realpath: every symbolic link followed) is a regular file equal to an entry's resolved path, or
/// under an entry that resolves to a directory. The first such entry applies. Empty: nothing runs.
/// </summary>
internal sealed class RuntimeAllowlist(IReadOnlyList<RuntimeEntry> entries)
{
    /// <summary>Prefixes of the variables only an allowlist entry's env can let the aggregator set (case-sensitive, as Linux is).</summary>
    public static readonly string[] ProtectedPrefixes = ["DROVER_", "LD_", "CUDA_"];

    /// <summary>Names, exactly, that only an allowlist entry's env can let the aggregator set.</summary>
    public static readonly string[] ProtectedNames = ["PATH"];

    public bool IsEmpty => entries.Count == 0;

    /// <summary>The grant for <paramref name="process"/>, or why it may not run (naming the command or the variable, and the key).</summary>
    public (RuntimeGrant? Grant, string? Error) Check(ProcessRuntime process)
    {
        var (resolved, commandError) = ResolveCommand(process.Command);
        if (resolved is null)
        {
            return (null, commandError);
        }

        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            if (!Matches(entry.Path, resolved))
            {
                continue;
            }

            var key = $"runtimes:{i}";
            foreach (var name in process.Env.Keys)
            {
                if (IsProtected(name) && !entry.Env.Contains(name, StringComparer.Ordinal))
                {
                    return (null, $"process.env: '{name}' is protected (DROVER_*, LD_*, CUDA_*, PATH) and {key}:env (the entry for '{entry.Path}' that allows '{process.Command}') does not list it");
                }
            }

            RuntimeUser? user = null;
            if (entry.User.Length > 0)
            {
                if (LibC.LookUpUser(entry.User) is not { } ids)
                {
                    return (null, $"{key}:user = '{entry.User}' is no longer a user on this host");
                }

                user = new RuntimeUser(entry.User, ids.Uid, ids.Gid);
            }

            return (new RuntimeGrant(resolved, key, user), null);
        }

        return (null, entries.Count == 0
            ? $"process.command = '{process.Command}' is not allowed: runtimes (the agent's allowlist) is empty, so no instance may run on this node"
            : $"process.command = '{process.Command}' (resolved to '{resolved}') is not allowed: no entry of runtimes (the agent's allowlist) is that executable or a directory above it");
    }

    /// <summary>Whether the aggregator needs an allowlist entry's leave to set <paramref name="name"/>.</summary>
    public static bool IsProtected(string name)
        => ProtectedNames.Contains(name, StringComparer.Ordinal) || ProtectedPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal));

    /// <summary>
    /// The command's resolved path (every symbolic link followed) when it is an absolute path without
    /// <c>.</c> or <c>..</c> segments naming a regular file, else why not.
    /// </summary>
    public static (string? Resolved, string? Error) ResolveCommand(string command)
    {
        if (CheckPath(command) is { } error)
        {
            return (null, $"process.command = '{command}': expected {error}");
        }

        if (LibC.ResolvePath(command) is not { } resolved)
        {
            return (null, $"process.command = '{command}' does not exist on this node");
        }

        if (LibC.FileStatus(resolved) is not (FileKind.Regular, _))
        {
            return (null, $"process.command = '{command}' (resolved to '{resolved}') is not a regular file");
        }

        return (resolved, null);
    }

    /// <summary>Null when <paramref name="path"/> is acceptable as an allowlist entry's path, else what is expected.</summary>
    public static string? CheckEntryPath(string path)
        => CheckPath(path) is { } error ? $"{error} (an executable, or a directory of them)" : null;

    /// <summary>Null when <paramref name="path"/> is absolute, bounded and has no empty, <c>.</c> or <c>..</c> segment; else what is expected.</summary>
    private static string? CheckPath(string path)
    {
        const string Expected = "an absolute path of at most 4096 characters without . or .. segments";
        if (path.Length is 0 or > 4096 || path[0] != '/' || path.Contains('\0', StringComparison.Ordinal))
        {
            return Expected;
        }

        var segments = path.TrimEnd('/').Split('/');
        for (var i = 1; i < segments.Length; i++)
        {
            if (segments[i] is "" or "." or "..")
            {
                return Expected;
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="resolvedCommand"/> is the entry's executable or lies under its directory (both resolved).</summary>
    private static bool Matches(string entryPath, string resolvedCommand)
    {
        if (LibC.ResolvePath(entryPath) is not { } entry)
        {
            return false;
        }

        if (LibC.FileStatus(entry) is (FileKind.Directory, _))
        {
            var prefix = entry.EndsWith('/') ? entry : entry + "/";
            return resolvedCommand.StartsWith(prefix, StringComparison.Ordinal);
        }

        return string.Equals(entry, resolvedCommand, StringComparison.Ordinal);
    }
}
