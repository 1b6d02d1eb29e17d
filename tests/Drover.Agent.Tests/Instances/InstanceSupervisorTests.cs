using System.Globalization;
using Drover.Agent.Instances;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Agent.Tests.Instances;

/// <summary>Real processes under a real supervisor: process groups, stops, and the supervisor's own failures.</summary>
public sealed class InstanceSupervisorTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly string _root = Directory.CreateTempSubdirectory("drover-supervisor-").FullName;
    private readonly List<int> _pids = [];

    public void Dispose()
    {
        foreach (var pid in _pids)
        {
            LibC.Signal(pid, LibC.SigKill);
        }

        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task StopAsync_InstanceStartedAChild_ChildIsGoneAfterTheStop()
    {
        // The child ignores SIGTERM, so only the group's SIGKILL after the grace ends it.
        var supervisor = Create("(trap '' TERM; exec sleep 1000) & echo $! > \"$DROVER_STATE_DIR/child.pid\"; wait");
        supervisor.Start();
        var child = await ReadPidAsync(Path.Combine(supervisor.Directory.StatePath, "child.pid"));
        var main = supervisor.CurrentPid;
        Assert.True(IsAlive(child));
        Assert.Equal(main, ProcessInfo.ProcessGroup(child));

        await supervisor.StopAsync().WaitAsync(Bound);

        Assert.False(IsAlive(main));
        await WaitUntilAsync(() => !IsAlive(child));
    }

    [Fact]
    public async Task Start_Launched_ProcessLeadsItsOwnGroup()
    {
        var supervisor = Create("echo started > \"$DROVER_STATE_DIR/started\"; exec sleep 1000");
        supervisor.Start();
        // The shell may write its file before the supervisor has recorded the pid it launched.
        await WaitUntilAsync(() => File.Exists(Path.Combine(supervisor.Directory.StatePath, "started")) && supervisor.CurrentPid != 0);
        var pid = supervisor.CurrentPid;

        Assert.Equal(pid, ProcessInfo.ProcessGroup(pid));
        Assert.NotEqual(ProcessInfo.ProcessGroup(Environment.ProcessId), pid);
        await supervisor.StopAsync().WaitAsync(Bound);
        Assert.False(IsAlive(pid));
    }

    [Fact]
    public async Task Start_SupervisorFailsAfterLaunch_ProcessIsKilledAndInstanceFailed()
    {
        var launched = new List<int>();
        var failed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var supervisor = Create(
            "exec sleep 1000",
            changed: s =>
            {
                var report = s.Report();
                if (report.State == InstanceState.Running && report.Pid != 0)
                {
                    lock (launched)
                    {
                        launched.Add(report.Pid);
                        _pids.Add(report.Pid);
                    }

                    // Not one of the failures the loop expects: it ends the supervisor.
                    throw new NotSupportedException("the report could not be sent");
                }

                if (report.State == InstanceState.Failed)
                {
                    failed.TrySetResult();
                }
            });

        supervisor.Start();
        await failed.Task.WaitAsync(Bound);

        var pid = Assert.Single(launched);
        await WaitUntilAsync(() => !IsAlive(pid));
        Assert.Contains("could not supervise", supervisor.Report().Reason, StringComparison.Ordinal);
        await supervisor.StopAsync().WaitAsync(Bound); // Answered at once: the loop is gone.
    }

    private InstanceSupervisor Create(string script, Action<InstanceSupervisor>? changed = null)
    {
        var directory = new InstanceDirectory(Path.Combine(_root, "instances"), "i-1");
        directory.Create();
        var spec = new InstanceSpec
        {
            InstanceId = "i-1",
            Function = "f",
            Version = "v1",
            Process = new ProcessRuntime { Command = "/bin/sh", Args = { "-c", script } },
        };
        directory.WriteSpec(spec);
        var policy = RestartPolicy.Default with { StopGrace = TimeSpan.FromMilliseconds(500), CrashLoopLimit = 0 };
        return new InstanceSupervisor(
            directory,
            spec,
            new InstanceEnvironment(1, "token", "node-1", Path.Combine(_root, "agent.sock")),
            null,
            policy,
            TimeProvider.System,
            NullLogger.Instance,
            changed ?? (_ => { }));
    }

    private async Task<int> ReadPidAsync(string path)
    {
        await WaitUntilAsync(() => File.Exists(path) && File.ReadAllText(path).EndsWith('\n'));
        var pid = int.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture);
        _pids.Add(pid);
        return pid;
    }

    private static bool IsAlive(int pid) => ProcessInfo.StartTime(pid) is not null;

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"the condition did not hold within {Bound.TotalSeconds} s");
            await Task.Delay(20);
        }
    }
}
