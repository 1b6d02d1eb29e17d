using System.Diagnostics;
using System.Globalization;

namespace Drover.Agent.Instances;

/// <summary>
/// One process of an instance: started by the agent (a child it can wait on) or adopted after an
/// agent restart (watched through /proc, exit status unknown). A started process leads its own
/// process group, and signals go to the whole group, so what the instance forks is frozen with it
/// for a snapshot and does not outlive its stop.
/// </summary>
internal sealed class InstanceProcess : IDisposable
{
    private static readonly TimeSpan AdoptedPoll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan GroupPoll = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// util-linux setsid(1), which makes its process a new session and process group leader and then
    /// execs the command. Process.Start offers no way to run setpgid in the child between fork and
    /// exec, and forking from the multi-threaded runtime ourselves is unsafe; setsid keeps the pid
    /// (it forks only when already a group leader, which a child of the agent never is), so the pid
    /// the agent waits on, persists and adopts stays the instance's own. "--fork" would break exactly
    /// that. Essential on Debian; where it is missing the process stays in the agent's group and
    /// signals go to its pid only, as before.
    /// </summary>
    private static readonly string? SetSid = new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists);

    private readonly Process? _child;
    private readonly TimeProvider _time;

    private InstanceProcess(int pid, long startTime, Process? child, bool ownGroup, TimeProvider time)
    {
        Pid = pid;
        StartTime = startTime;
        _child = child;
        OwnGroup = ownGroup;
        _time = time;
    }

    /// <summary>Whether new processes can lead their own process group here (setsid(1) is installed).</summary>
    public static bool GroupsAvailable => SetSid is not null;

    public int Pid { get; }

    public long StartTime { get; }

    /// <summary>Whether the process leads its own process group (group id = pid), so signals go to the group.</summary>
    public bool OwnGroup { get; }

    /// <summary>
    /// Starts the process: <paramref name="argv"/>[0], an absolute path (see <see cref="RuntimeGrant.Argv"/>),
    /// with the rest as its arguments. Its output is appended to <paramref name="outputLog"/> rather
    /// than piped to the agent, so it survives an agent restart. The shell is a fixed trampoline that
    /// only redirects and execs: the program and its arguments reach it as positional parameters,
    /// always quoted, and are never read as shell text.
    /// </summary>
    public static InstanceProcess Launch(IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> environment, string workingDirectory, string outputLog, TimeProvider time)
    {
        var command = argv[0];

        // The shell's >> would create it with the umask's mode: what an instance prints may be secret.
        new FileStream(outputLog, new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }).Dispose();
        var info = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"exec {SetSid} \"$0\" \"$@\" >>\"$DROVER_OUTPUT_LOG\" 2>&1 </dev/null");
        foreach (var arg in argv)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment.Clear();
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        info.Environment[InstanceEnvironment.OutputLog] = outputLog;
        var child = Process.Start(info) ?? throw new InvalidOperationException($"'{command}' did not start.");
        return new InstanceProcess(child.Id, ProcessInfo.StartTime(child.Id) ?? 0, child, SetSid is not null, time);
    }

    /// <summary>
    /// Adopts a process a previous agent started, when that pid is still the same process. A previous
    /// agent that died while snapshotting may have left it frozen: it is continued (SIGCONT is harmless
    /// to a running process). A process started by an agent before process groups stays signalled by pid.
    /// </summary>
    public static InstanceProcess? TryAdopt(int pid, long startTime, TimeProvider time)
    {
        if (!ProcessInfo.IsSame(pid, startTime))
        {
            return null;
        }

        var process = new InstanceProcess(pid, startTime, null, ProcessInfo.ProcessGroup(pid) == pid, time);
        process.Signal(LibC.SigCont);
        return process;
    }

    /// <summary>
    /// Sends <paramref name="signal"/> to the process's group, or to the process alone when it has no
    /// group of its own (yet: for a moment after Launch, setsid has not run). A group id is the leader's
    /// pid, which the kernel does not give to another process while the group has members.
    /// </summary>
    public bool Signal(int signal) => (OwnGroup && LibC.SignalGroup(Pid, signal)) || LibC.Signal(Pid, signal);

    public async Task<ExitStatus> WaitForExitAsync(CancellationToken cancellationToken)
    {
        if (_child is not null)
        {
            await _child.WaitForExitAsync(cancellationToken);
            return ExitStatus.FromExitCode(_child.ExitCode);
        }

        while (ProcessInfo.IsSame(Pid, StartTime))
        {
            await Task.Delay(AdoptedPoll, _time, cancellationToken);
        }

        return ExitStatus.Unknown;
    }

    /// <summary>
    /// SIGTERM to the group, then SIGKILL to the group after <paramref name="grace"/> when the process
    /// or anything else in its group is still alive; returns once they are gone.
    /// </summary>
    public async Task TerminateAsync(TimeSpan grace)
    {
        if (!IsAlive && !GroupAlive)
        {
            return;
        }

        Signal(LibC.SigTerm);
        using var timeout = new CancellationTokenSource(grace, _time);
        try
        {
            await WaitForExitAsync(timeout.Token);
            await WaitForGroupAsync(timeout.Token);
            return;
        }
        catch (OperationCanceledException)
        {
        }

        Signal(LibC.SigKill);
        using var killed = new CancellationTokenSource(TimeSpan.FromSeconds(5), _time);
        try
        {
            await WaitForExitAsync(killed.Token);
            await WaitForGroupAsync(killed.Token);
        }
        catch (OperationCanceledException)
        {
            // A process in uninterruptible sleep: nothing more to do from here.
        }
    }

    /// <summary>SIGKILL to the group at once, without waiting: for a process the agent cannot go on supervising.</summary>
    public void Kill() => Signal(LibC.SigKill);

    public bool IsAlive => _child is not null ? !_child.HasExited : ProcessInfo.IsSame(Pid, StartTime);

    /// <summary>Whether a process of the group (the leader's children included) is still alive.</summary>
    public bool GroupAlive => OwnGroup && ProcessInfo.GroupHasLiveMembers(Pid);

    public override string ToString() => Pid.ToString(CultureInfo.InvariantCulture);

    public void Dispose() => _child?.Dispose();

    private async Task WaitForGroupAsync(CancellationToken cancellationToken)
    {
        while (GroupAlive)
        {
            await Task.Delay(GroupPoll, _time, cancellationToken);
        }
    }
}
