using System.Globalization;

namespace Drover.Agent.Instances;

/// <summary>
/// What the runtime allowlist granted an instance: the executable its command resolved to (run by
/// that path, so the file checked is the file run), the allowlist key that allowed it, and the user
/// it runs as (null: the agent's own).
/// </summary>
internal sealed record RuntimeGrant(string Executable, string EntryKey, RuntimeUser? User)
{
    /// <summary>util-linux setpriv(1), which changes user, group and supplementary groups, drops the capabilities an exec would pass on, and then execs.</summary>
    public static readonly string? SetPriv = new[] { "/usr/bin/setpriv", "/bin/setpriv" }.FirstOrDefault(File.Exists);

    /// <summary>
    /// The command as given, unchecked: a seam for tests that start a supervisor without an allowlist.
    /// </summary>
    public static RuntimeGrant Unchecked(string command) => new(command, "(unchecked)", null);

    /// <summary>The uid the instance runs as, so the owner of what it writes: its user's, else the agent's own.</summary>
    public uint Uid => User?.Uid ?? LibC.EffectiveUserId;

    /// <summary>
    /// The program and arguments that run the instance: the executable with its arguments, behind
    /// setpriv when it runs as another user. No shell ever reads the command or the arguments.
    /// </summary>
    public IReadOnlyList<string> Argv(IEnumerable<string> args)
    {
        var argv = new List<string>();
        if (User is { } user)
        {
            argv.AddRange([
                SetPriv ?? throw new InvalidOperationException("setpriv (util-linux) is not installed: an instance cannot run as another user."),
                $"--reuid={user.Uid.ToString(CultureInfo.InvariantCulture)}",
                $"--regid={user.Gid.ToString(CultureInfo.InvariantCulture)}",
                "--init-groups",
                // An agent that is not root holds CAP_SETUID/SETGID (and more) to get here, and a process that was
                // never root keeps its capabilities across a change of user: drop the sets an exec passes on.
                "--inh-caps=-all",
                "--ambient-caps=-all",
                "--",
            ]);
        }

        argv.Add(Executable);
        argv.AddRange(args);
        return argv;
    }
}

/// <summary>The user (and primary group) an allowlisted runtime's instances run as.</summary>
internal sealed record RuntimeUser(string Name, uint Uid, uint Gid);
