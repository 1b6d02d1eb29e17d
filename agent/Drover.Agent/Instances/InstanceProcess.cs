using System.Diagnostics;
using System.Globalization;

namespace Drover.Agent.Instances;

/// <summary>
/// One process of an instance: started by the agent (a child it can wait on) or adopted after an
/// agent restart (watched through /proc, exit status unknown).
/// </summary>
internal sealed class InstanceProcess : IDisposable
{
    private static readonly TimeSpan AdoptedPoll = TimeSpan.FromMilliseconds(250);
    private readonly Process? _child;
    private readonly TimeProvider _time;

    private InstanceProcess(int pid, long startTime, Process? child, TimeProvider time)
    {
        Pid = pid;
        StartTime = startTime;
        _child = child;
        _time = time;
    }

    public int Pid { get; }

    public long StartTime { get; }

    /// <summary>
    /// Starts the process. Its output is appended to <paramref name="outputLog"/> rather than piped to
    /// the agent, so it survives an agent restart.
    /// </summary>
    public static InstanceProcess Launch(string command, IEnumerable<string> args, IReadOnlyDictionary<string, string> environment, string workingDirectory, string outputLog, TimeProvider time)
    {
        var info = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec \"$0\" \"$@\" >>\"$DROVER_OUTPUT_LOG\" 2>&1 </dev/null");
        info.ArgumentList.Add(command);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment.Clear();
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        info.Environment["DROVER_OUTPUT_LOG"] = outputLog;
        var child = Process.Start(info) ?? throw new InvalidOperationException($"'{command}' did not start.");
        return new InstanceProcess(child.Id, ProcessInfo.StartTime(child.Id) ?? 0, child, time);
    }

    /// <summary>
    /// Adopts a process a previous agent started, when that pid is still the same process. A previous
    /// agent that died while snapshotting may have left it frozen: it is continued (SIGCONT is harmless
    /// to a running process).
    /// </summary>
    public static InstanceProcess? TryAdopt(int pid, long startTime, TimeProvider time)
    {
        if (!ProcessInfo.IsSame(pid, startTime))
        {
            return null;
        }

        LibC.Signal(pid, LibC.SigCont);
        return new InstanceProcess(pid, startTime, null, time);
    }

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

    /// <summary>SIGTERM, then SIGKILL after <paramref name="grace"/>; returns once the process is gone.</summary>
    public async Task TerminateAsync(TimeSpan grace)
    {
        if (!IsAlive)
        {
            return;
        }

        LibC.Signal(Pid, LibC.SigTerm);
        using var timeout = new CancellationTokenSource(grace, _time);
        try
        {
            await WaitForExitAsync(timeout.Token);
            return;
        }
        catch (OperationCanceledException)
        {
        }

        LibC.Signal(Pid, LibC.SigKill);
        using var killed = new CancellationTokenSource(TimeSpan.FromSeconds(5), _time);
        try
        {
            await WaitForExitAsync(killed.Token);
        }
        catch (OperationCanceledException)
        {
            // A process in uninterruptible sleep: nothing more to do from here.
        }
    }

    public bool IsAlive => _child is not null ? !_child.HasExited : ProcessInfo.IsSame(Pid, StartTime);

    public override string ToString() => Pid.ToString(CultureInfo.InvariantCulture);

    public void Dispose() => _child?.Dispose();
}
