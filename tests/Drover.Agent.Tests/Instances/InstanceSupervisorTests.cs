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

    /// <summary>
    /// Another process on the host listens on the instance's port (it was handed the same free port before the
    /// instance bound it), so the instance fails: it restarts on a new port, instead of failing on the taken one at
    /// every restart.
    /// </summary>
    [Fact]
    public async Task Restart_PortTakenByAnotherProcess_StartsOnANewPort()
    {
        using var other = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        other.Start();
        var taken = ((System.Net.IPEndPoint)other.LocalEndpoint).Port;
        var supervisor = Create(
            "if [ ! -f \"$DROVER_STATE_DIR/failed\" ]; then touch \"$DROVER_STATE_DIR/failed\"; exit 1; fi; echo $PORT > \"$DROVER_STATE_DIR/port\"; exec sleep 1000",
            port: taken,
            crashLoopLimit: 1);
        var portFile = Path.Combine(supervisor.Directory.StatePath, "port");

        supervisor.Start();
        await WaitUntilAsync(() => File.Exists(portFile) && File.ReadAllText(portFile).EndsWith('\n') && supervisor.CurrentPid != 0);
        _pids.Add(supervisor.CurrentPid);

        var port = int.Parse(File.ReadAllText(portFile).Trim(), CultureInfo.InvariantCulture);
        Assert.NotEqual(taken, port);
        Assert.Equal(port, supervisor.Port);
        Assert.Equal(port, (int)supervisor.Report().Port);
        await supervisor.StopAsync().WaitAsync(Bound);
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

    private InstanceSupervisor Create(string script, Action<InstanceSupervisor>? changed = null, int port = 1, int crashLoopLimit = 0)
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
        var policy = RestartPolicy.Default with { StopGrace = TimeSpan.FromMilliseconds(500), CrashLoopLimit = crashLoopLimit };
        return new InstanceSupervisor(
            directory,
            spec,
            new InstanceEnvironment(port, "token", "node-1", Path.Combine(_root, "agent.sock")),
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
