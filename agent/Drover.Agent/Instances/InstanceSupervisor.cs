using System.Threading.Channels;
using Drover.Protocol.V1;

namespace Drover.Agent.Instances;

/// <summary>
/// Keeps one instance's process running. When the process exits, crashes or is killed, the
/// supervisor starts a replacement bound to the same state directory and id, after a backoff
/// (<see cref="RestartPolicy"/>); a crash loop fails the instance instead of spinning. Stop and
/// replace (a new version, or restored state) arrive as controls, handled between runs.
/// </summary>
internal sealed partial class InstanceSupervisor
{
    private readonly InstanceDirectory _directory;
    private readonly InstanceEnvironment _environment;
    private readonly RestartPolicy _policy;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Action<InstanceSupervisor> _changed;
    private readonly Channel<Control> _controls = Channel.CreateUnbounded<Control>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _gate = new();
    private InstanceRuntime? _adoptable;
    private InstanceProcess? _process;

    // The process this supervisor started or adopted and has not yet seen end or stopped: killed if
    // the supervisor itself fails, so no process of the instance runs on without its supervisor.
    private InstanceProcess? _owned;
    private int _freezes;
    private InstanceState _state = InstanceState.Starting;
    private string _reason = "starting";
    private ExitStatus _lastExit;
    private int _restarts;
    private (int Pid, ExitStatus Exit) _lastEnded;
    private Task<Control>? _pendingControl;

    public InstanceSupervisor(
        InstanceDirectory directory,
        InstanceSpec spec,
        InstanceEnvironment environment,
        InstanceRuntime? adoptable,
        RestartPolicy policy,
        TimeProvider time,
        ILogger logger,
        Action<InstanceSupervisor> changed,
        RuntimeGrant? runtime = null)
    {
        _directory = directory;
        Spec = spec;
        Runtime = runtime ?? RuntimeGrant.Unchecked(spec.Process.Command);
        _environment = environment;
        _adoptable = adoptable;
        _restarts = adoptable?.Restarts ?? 0;
        StateVersion = adoptable?.StateVersion ?? 0;
        StateSha256 = adoptable?.StateSha256 ?? "";
        _policy = policy;
        _time = time;
        _logger = logger;
        _changed = changed;
        Traffic = new InstanceTraffic(directory.InstanceId);
        Traffic.ReadinessChanged += () => _changed(this);
    }

    public string InstanceId => _directory.InstanceId;

    public InstanceDirectory Directory => _directory;

    public InstanceSpec Spec { get; private set; }

    /// <summary>What the runtime allowlist granted the spec's command: the executable run, and as whom.</summary>
    public RuntimeGrant Runtime { get; private set; }

    public int Port => _environment.Port;

    /// <summary>What the node's shim knows of the instance's requests: readiness, draining, in flight.</summary>
    public InstanceTraffic Traffic { get; }

    /// <summary>Whether the supervisor has the instance Running now.</summary>
    public bool IsRunning
    {
        get
        {
            lock (_gate)
            {
                return _state == InstanceState.Running;
            }
        }
    }

    /// <summary>The pid of the process that runs now, or 0.</summary>
    public int CurrentPid => _process?.Pid ?? 0;

    /// <summary>The last process that ended and how, for the shim to say why a request failed; pid 0 while none has.</summary>
    public (int Pid, ExitStatus Exit) LastEnded
    {
        get
        {
            lock (_gate)
            {
                return _lastEnded;
            }
        }
    }

    /// <summary>Mode stdio: no long-running process; the shim starts one per request.</summary>
    public static bool IsStdio(InstanceSpec spec) => spec.Shim?.Mode == ShimMode.Stdio;

    /// <summary>The environment a process of this instance gets (the shim's stdio mode starts processes with it).</summary>
    public IReadOnlyDictionary<string, string> ProcessEnvironment() => _environment.For(Spec, _directory, Runtime.User);

    /// <summary>The working directory a process of this instance runs in.</summary>
    public string WorkingDirectory => string.IsNullOrEmpty(Spec.Process.WorkingDirectory) ? _directory.Root : Spec.Process.WorkingDirectory;

    public string Token => _environment.Token;

    /// <summary>The last snapshot version the aggregator acknowledged, and its checksum.</summary>
    public ulong StateVersion { get; private set; }

    public string StateSha256 { get; private set; }

    /// <summary>
    /// Held while the state directory is snapshotted or replaced, so a commit never archives the
    /// state a restore is about to replace and then sends it under the restored version's successor.
    /// </summary>
    public SemaphoreSlim StateGate { get; } = new(1, 1);

    /// <summary>Starts supervising; RunAsync turns its own failures into the instance's failed state.</summary>
    public void Start() => _ = Task.Run(RunAsync);

    /// <summary>Stops the process for good; completes when it is gone.</summary>
    public Task StopAsync() => Send(new Control(ControlKind.Stop, null, null, null));

    /// <summary>
    /// Stops the process, runs <paramref name="beforeStart"/> (e.g. restore state), and starts
    /// <paramref name="spec"/> as <paramref name="runtime"/> grants (null: as the running spec's).
    /// </summary>
    public Task ReplaceAsync(InstanceSpec spec, Func<Task>? beforeStart, RuntimeGrant? runtime = null) => Send(new Control(ControlKind.Replace, spec, beforeStart, runtime));

    /// <summary>Takes a spec that differs from the running one only in what the process does not see (its shim settings).</summary>
    public void UpdateSpec(InstanceSpec spec)
    {
        lock (_gate)
        {
            Spec = spec;
            _directory.WriteSpec(spec);
        }
    }

    /// <summary>Records a snapshot the aggregator acknowledged; persisted so a restarted agent does not commit it again.</summary>
    public void StateCommitted(ulong version, string sha256)
    {
        lock (_gate)
        {
            StateVersion = version;
            StateSha256 = sha256;
            PersistRuntime();
        }

        _changed(this);
    }

    /// <summary>How many times <see cref="WhileFrozen"/> froze the process: a seam for tests, which cannot see a SIGSTOP otherwise.</summary>
    internal int Freezes => _freezes;

    /// <summary>
    /// Runs <paramref name="action"/> with the process and its process group stopped (SIGSTOP ...
    /// SIGCONT), so a snapshot of its state directory is consistent with one moment of the instance.
    /// </summary>
    public void WhileFrozen(Action action)
    {
        var process = _process;
        bool frozen;
        try
        {
            frozen = process is not null && process.IsAlive && process.Signal(LibC.SigStop);
        }
        catch (InvalidOperationException)
        {
            // The process ended (and was disposed) just now: nothing to freeze.
            frozen = false;
        }
        if (frozen)
        {
            Interlocked.Increment(ref _freezes);
        }

        try
        {
            action();
        }
        finally
        {
            if (frozen)
            {
                process!.Signal(LibC.SigCont);
            }
        }
    }

    public InstanceReport Report()
    {
        lock (_gate)
        {
            var report = new InstanceReport
            {
                InstanceId = InstanceId,
                Function = Spec.Function,
                Version = Spec.Version,
                State = _state,
                Pid = _state is InstanceState.Starting or InstanceState.Running ? _process?.Pid ?? 0 : 0,
                Restarts = (uint)_restarts,
                LastExitCode = _lastExit.Code,
                LastSignal = _lastExit.Signal,
                Reason = _reason,
                Port = (uint)Port,
                StateVersion = StateVersion,
                Ready = _state == InstanceState.Running && Traffic.Ready,
                Kind = Spec.Kind,
                Epoch = Spec.Epoch,
            };
            report.GpuUuids.Add(Spec.GpuUuids);
            return report;
        }
    }

    private Task Send(Control control)
    {
        if (!_controls.Writer.TryWrite(control))
        {
            control.Done.TrySetResult();
        }

        return control.Done.Task;
    }

    private async Task RunAsync()
    {
        Exception? failure = null;
        try
        {
            await SuperviseAsync();
        }
        catch (Exception ex)
        {
            // The top of a loop that must not die silently: whatever failed (the disk is full, say,
            // or a defect), the instance is reported failed below rather than left "running".
            failure = ex;
        }
        finally
        {
            // Whatever ended the loop, no process of the instance runs on unsupervised.
            await KillOwnedAsync();
        }

        // Stopped for good, or failed: a later control (a second stop, at the agent's shutdown) is
        // answered at once instead of waiting on a loop that is gone.
        _controls.Writer.TryComplete();
        if (failure is not null)
        {
            Log.SupervisorFailed(_logger, InstanceId, failure.Message);
            try
            {
                SetState(InstanceState.Failed, $"the agent could not supervise the instance: {failure.Message}");
            }
            catch (Exception persist) when (persist is IOException or UnauthorizedAccessException)
            {
                Log.SupervisorFailed(_logger, InstanceId, persist.Message);
            }

            if (_pendingControl is { IsCompletedSuccessfully: true } pending)
            {
                pending.Result.Done.TrySetResult();
            }
        }

        while (_controls.Reader.TryRead(out var left))
        {
            left.Done.TrySetResult();
        }
    }

    private async Task KillOwnedAsync()
    {
        if (Interlocked.Exchange(ref _owned, null) is not { } orphan)
        {
            return;
        }

        try
        {
            Log.KillingUnsupervised(_logger, InstanceId, orphan.Pid);
            await orphan.TerminateAsync(_policy.StopGrace);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            // Its Process handle is unusable: SIGKILL by pid and group is all that is left.
            orphan.Kill();
        }
        finally
        {
            orphan.Dispose();
        }
    }

    private async Task SuperviseAsync()
    {
        var consecutiveCrashes = 0;
        while (true)
        {
            if (IsStdio(Spec))
            {
                // Nothing runs between requests: the shim starts a process per request.
                _adoptable = null;
                SetRunning(null, "stdio: one process per request");
                var control = await NextControl();
                _pendingControl = null;
                if (await HandleControlAsync(control, null))
                {
                    return;
                }

                continue;
            }

            InstanceProcess process;
            try
            {
                process = StartOrAdopt();
            }
            catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException or InvalidOperationException or UnauthorizedAccessException)
            {
                // Could not even start (a missing command, say): counts as a crash of the streak.
                _lastExit = new ExitStatus(127, 0, true);
                Log.StartFailed(_logger, InstanceId, ex.Message);
                consecutiveCrashes++;
                if (await AfterCrashAsync(consecutiveCrashes, $"could not start: {ex.Message}") is { } control)
                {
                    if (await HandleControlAsync(control, null))
                    {
                        return;
                    }

                    consecutiveCrashes = 0;
                }

                continue;
            }

            _owned = process;
            var startedAt = _time.GetTimestamp();
            var exit = process.WaitForExitAsync(CancellationToken.None);
            var next = NextControl();
            if (await Task.WhenAny(exit, next) == next)
            {
                _pendingControl = null;
                if (await HandleControlAsync(await next, process))
                {
                    return;
                }

                consecutiveCrashes = 0;
                continue;
            }

            _lastExit = await exit;
            lock (_gate)
            {
                _lastEnded = (process.Pid, _lastExit);
            }

            _owned = null;
            process.Dispose();
            _restarts++;
            consecutiveCrashes = _time.GetElapsedTime(startedAt) >= _policy.StableRun ? 1 : consecutiveCrashes + 1;
            Log.Exited(_logger, InstanceId, process.Pid, _lastExit.ToString());
            if (await AfterCrashAsync(consecutiveCrashes, $"process {process.Pid} {_lastExit}") is { } during)
            {
                if (await HandleControlAsync(during, null))
                {
                    return;
                }

                consecutiveCrashes = 0;
            }
        }
    }

    /// <summary>The one pending read of the control channel, kept across waits so no control is lost.</summary>
    private Task<Control> NextControl() => _pendingControl ??= _controls.Reader.ReadAsync().AsTask();

    private InstanceProcess StartOrAdopt()
    {
        var adoptable = _adoptable;
        _adoptable = null;
        if (adoptable is not null && InstanceProcess.TryAdopt(adoptable.Pid, adoptable.StartTime, _time) is { } adopted)
        {
            Log.Adopted(_logger, InstanceId, adopted.Pid);
            SetRunning(adopted, $"adopted process {adopted.Pid} left running by the previous agent");
            return adopted;
        }

        SetState(InstanceState.Starting, _restarts == 0 ? "starting" : $"starting again (restart {_restarts})");

        // The port is kept for the instance's life, unless on a restart another process on the host listens on it
        // (it was handed the same free port before this instance bound it): the instance would never start again.
        if (_restarts > 0 && LoopbackPorts.TakenByAnother(Port))
        {
            var taken = Port;
            _environment.MovePort(LoopbackPorts.Free());
            Log.PortMoved(_logger, InstanceId, taken, Port);
        }

        var spec = Spec;
        var workingDirectory = WorkingDirectory;
        var process = InstanceProcess.Launch(
            Runtime.Argv(spec.Process.Args),
            _environment.For(spec, _directory, Runtime.User),
            workingDirectory,
            _directory.OutputLog,
            _time);
        try
        {
            Log.Started(_logger, InstanceId, process.Pid, spec.Version);
            if (spec.GpuProbe && !_environment.Probed(spec))
            {
                Log.ProbeMissing(_logger, InstanceId, _environment.ProbeLibraryPath ?? "(none)");
            }
            if (!process.OwnGroup)
            {
                Log.NoProcessGroup(_logger, InstanceId, process.Pid);
            }

            SetRunning(process, $"process {process.Pid} started");
            return process;
        }
        catch
        {
            // Started but not recorded (runtime.json could not be written, say): nothing would ever
            // stop it, so it goes now, before the failure is handled as a failed start.
            process.Kill();
            process.Dispose();
            throw;
        }
    }

    /// <summary>
    /// After a crash: fail on a crash loop (then wait for a control), else wait the backoff. Returns a
    /// control that arrived meanwhile, or null to restart.
    /// </summary>
    private async Task<Control?> AfterCrashAsync(int consecutiveCrashes, string reason)
    {
        var next = NextControl();
        if (_policy.IsCrashLoop(consecutiveCrashes))
        {
            SetState(InstanceState.Failed, $"{reason}; crashed {consecutiveCrashes} times in a row, not restarted");
            Log.Failed(_logger, InstanceId, consecutiveCrashes, reason);
            _pendingControl = null;
            return await next;
        }

        var delay = _policy.DelayAfter(consecutiveCrashes);
        SetState(InstanceState.Restarting, $"{reason}; restarting in {(long)delay.TotalMilliseconds} ms");
        if (await Task.WhenAny(Task.Delay(delay, _time), next) != next)
        {
            return null;
        }

        _pendingControl = null;
        return await next;
    }

    /// <summary>Carries out a control; true when the supervisor is done (stopped).</summary>
    private async Task<bool> HandleControlAsync(Control control, InstanceProcess? process)
    {
        try
        {
            if (process is not null)
            {
                await process.TerminateAsync(_policy.StopGrace);
                _owned = null;
                process.Dispose();
            }

            if (control.Kind == ControlKind.Stop)
            {
                SetState(InstanceState.Stopped, "stopped on request");
                return true;
            }

            Spec = control.Spec!;
            Runtime = control.Runtime ?? Runtime;
            _directory.WriteSpec(Spec);
            if (control.BeforeStart is not null)
            {
                try
                {
                    await control.BeforeStart();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
                {
                    // A restore that failed leaves the old state in place (StateArchive.Restore swaps
                    // only a complete extraction): the command is answered with the error and the
                    // process starts again on the state it had.
                    control.Done.TrySetException(ex);
                }
            }

            return false;
        }
        finally
        {
            control.Done.TrySetResult();
        }
    }

    private void SetRunning(InstanceProcess? process, string reason)
    {
        lock (_gate)
        {
            _process = process;
            _state = InstanceState.Running;
            _reason = reason;
            PersistRuntime();
        }

        // A new process is not ready until its health check passes; mode stdio has nothing to check.
        Traffic.SetHealthy(process is null);
        Traffic.SetRunning(true);
        _changed(this);
    }

    private void SetState(InstanceState state, string reason)
    {
        lock (_gate)
        {
            _state = state;
            _reason = reason;
            if (state != InstanceState.Running)
            {
                _process = null;
            }

            PersistRuntime();
        }

        Traffic.SetRunning(state == InstanceState.Running);
        _changed(this);
    }

    private void PersistRuntime()
    {
        if (_state == InstanceState.Stopped || !System.IO.Directory.Exists(_directory.Root))
        {
            return;
        }

        _directory.WriteRuntime(new InstanceRuntime(_process?.Pid ?? 0, _process?.StartTime ?? 0, Port, Token, _restarts, StateVersion, StateSha256));
    }

    private enum ControlKind
    {
        Stop,
        Replace,
    }

    private sealed record Control(ControlKind Kind, InstanceSpec? Spec, Func<Task>? BeforeStart, RuntimeGrant? Runtime)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2601, EventName = "InstanceStarted", Level = LogLevel.Information,
            Message = "Instance '{InstanceId}' started process {Pid} (version '{Version}').")]
        public static partial void Started(ILogger logger, string instanceId, int pid, string version);

        [LoggerMessage(EventId = 2602, EventName = "InstanceAdopted", Level = LogLevel.Information,
            Message = "Instance '{InstanceId}' adopted process {Pid}, left running by the previous agent.")]
        public static partial void Adopted(ILogger logger, string instanceId, int pid);

        [LoggerMessage(EventId = 2603, EventName = "InstanceExited", Level = LogLevel.Warning,
            Message = "Instance '{InstanceId}': process {Pid} {Exit}.")]
        public static partial void Exited(ILogger logger, string instanceId, int pid, string exit);

        [LoggerMessage(EventId = 2604, EventName = "InstanceFailed", Level = LogLevel.Error,
            Message = "Instance '{InstanceId}' crashed {Count} times in a row and is failed, not restarted: {Reason}.")]
        public static partial void Failed(ILogger logger, string instanceId, int count, string reason);

        [LoggerMessage(EventId = 2606, EventName = "SupervisorFailed", Level = LogLevel.Error,
            Message = "The supervisor of instance '{InstanceId}' failed: {Reason}. The instance is reported failed.")]
        public static partial void SupervisorFailed(ILogger logger, string instanceId, string reason);

        [LoggerMessage(EventId = 2605, EventName = "InstanceStartFailed", Level = LogLevel.Warning,
            Message = "Instance '{InstanceId}' could not start its process: {Reason}.")]
        public static partial void StartFailed(ILogger logger, string instanceId, string reason);

        [LoggerMessage(EventId = 2607, EventName = "InstanceUnsupervisedKilled", Level = LogLevel.Warning,
            Message = "Instance '{InstanceId}': stopping process {Pid} and its process group, which its failed supervisor can no longer watch.")]
        public static partial void KillingUnsupervised(ILogger logger, string instanceId, int pid);

        [LoggerMessage(EventId = 2609, EventName = "InstancePortMoved", Level = LogLevel.Warning,
            Message = "Instance '{InstanceId}': port {Taken} is taken by another process; the instance starts on port {Port}.")]
        public static partial void PortMoved(ILogger logger, string instanceId, int taken, int port);

        [LoggerMessage(EventId = 2608, EventName = "InstanceNoProcessGroup", Level = LogLevel.Warning,
            Message = "Instance '{InstanceId}': process {Pid} shares the agent's process group (setsid is not installed); processes it starts may outlive its stop.")]
        public static partial void NoProcessGroup(ILogger logger, string instanceId, int pid);

        [LoggerMessage(EventId = 2610, EventName = "InstanceGpuProbeMissing", Level = LogLevel.Warning,
            Message = "Instance '{InstanceId}' asks for the CUDA launch probe, but '{Path}' is not there (gpuProbeLibraryPath): it runs without it, and its GPUs' command queues are not measured.")]
        public static partial void ProbeMissing(ILogger logger, string instanceId, string path);
    }
}
