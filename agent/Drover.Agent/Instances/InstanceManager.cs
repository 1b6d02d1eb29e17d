using System.Collections.Concurrent;
using Drover.Agent.Configuration;
using Drover.Agent.Link;
using Drover.Agent.LocalSocket;
using Drover.Protocol.V1;

namespace Drover.Agent.Instances;

/// <summary>
/// The instances this agent runs: started, replaced, restored and stopped on the aggregator's
/// commands, reported on every change, and found again after an agent restart (the process adopted
/// when it still runs, started again on its state directory when not). Commands arrive one at a time
/// (the dispatcher serializes them).
/// </summary>
internal sealed partial class InstanceManager : IHostedService
{
    private readonly AgentOptions _options;
    private readonly string _nodeId;
    private readonly InstanceTokens _tokens;
    private readonly AgentOutbox _outbox;
    private readonly RestoreStaging _staging;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger<InstanceManager> _logger;
    private readonly RestartPolicy _policy;
    private readonly ConcurrentDictionary<string, InstanceSupervisor> _instances = new(StringComparer.Ordinal);
    private readonly string _root;
    private readonly RuntimeAllowlist _allowlist;
    private readonly GpuProbeInjection _probe;

    public InstanceManager(
        AgentOptions options,
        NodeHello hello,
        InstanceTokens tokens,
        AgentOutbox outbox,
        RestoreStaging staging,
        TimeProvider time,
        ILoggerFactory loggers)
    {
        _options = options;
        _nodeId = hello.NodeId;
        _tokens = tokens;
        _outbox = outbox;
        _staging = staging;
        _time = time;
        _loggers = loggers;
        _logger = loggers.CreateLogger<InstanceManager>();
        _policy = RestartPolicy.Default with
        {
            Maximum = TimeSpan.FromMilliseconds(options.InstanceRestartMaxBackoffMs),
            CrashLoopLimit = options.InstanceCrashLoopLimit,
            StopGrace = TimeSpan.FromMilliseconds(options.InstanceStopGraceMs),
        };
        _root = InstancesRoot(options);
        _allowlist = new RuntimeAllowlist(options.Runtimes);
        _probe = new GpuProbeInjection(options.GpuProbeLibraryPath, options.GpuProbeRoot);
        _outbox.Connected += ReportAll;
    }

    /// <summary>The longest StopInstance.drain_timeout accepted.</summary>
    public static readonly TimeSpan MaxDrain = TimeSpan.FromMinutes(10);

    public static string InstancesRoot(AgentOptions options) => Path.Combine(options.StateDirectory, "instances");

    /// <summary>This node's id, as its instances' status messages name it.</summary>
    public string NodeId => _nodeId;

    public IReadOnlyCollection<InstanceSupervisor> All => (IReadOnlyCollection<InstanceSupervisor>)_instances.Values;

    public InstanceSupervisor? Find(string instanceId) => _instances.GetValueOrDefault(instanceId);

    /// <summary>Raised when an instance is added, replaced or removed (the shim refreshes its workloads).</summary>
    public event Action? Changed;

    /// <summary>Finds the instances a previous agent ran: adopts their processes, or starts them again on their state.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // (An entry without a user never reaches here on an agent running as root: AgentOptionsLoader refuses it.)
        if (_allowlist.IsEmpty)
        {
            Log.AllowlistEmpty(_logger);
        }

        if (!Directory.Exists(_root))
        {
            return Task.CompletedTask;
        }

        foreach (var folder in Directory.EnumerateDirectories(_root))
        {
            var id = Path.GetFileName(folder);
            var directory = new InstanceDirectory(_root, id);
            if (InstanceIds.Validate(id) is not null || !directory.Exists)
            {
                continue;
            }

            try
            {
                // Uploads cut off when the previous agent stopped can never complete.
                directory.ClearStaging();
                var spec = directory.ReadSpec();
                var runtime = directory.ReadRuntime();
                // A spec on disk is checked as one from the aggregator is: a hand-edited or foreign instance.json
                // (no process, say) is not adopted, and does not stop the agent from starting.
                var invalid = InstanceSpecValidator.Validate(spec);
                if (invalid is not null)
                {
                    Log.ResumeFailed(_logger, id, $"its instance.json is not a valid instance spec ({invalid})");
                }

                if (invalid is not null || Allow(spec) is not { } grant)
                {
                    // The allowlist changed under it: its process (when it still runs) goes too, since
                    // no supervisor will ever stop it. Its state stays, as after any stop.
                    if (runtime is not null && InstanceProcess.TryAdopt(runtime.Pid, runtime.StartTime, _time) is { } orphan)
                    {
                        orphan.Kill();
                        orphan.Dispose();
                    }

                    directory.Forget();
                    continue;
                }

                // Folders of an earlier agent get the modes (and owner) this one gives.
                directory.Create(grant.User);
                Launch(directory, spec, runtime, grant);
                Log.Resumed(_logger, id, runtime?.Pid ?? 0);
            }
            catch (Exception ex) when (ex is IOException or Google.Protobuf.InvalidProtocolBufferException or InvalidOperationException)
            {
                Log.ResumeFailed(_logger, id, ex.Message);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// On a clean agent stop, instances keep running (to be adopted by the next agent) unless
    /// <c>stopInstancesOnExit</c> is set.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _outbox.Connected -= ReportAll;
        if (_options.StopInstancesOnExit)
        {
            await Task.WhenAll(_instances.Values.Select(s => s.StopAsync())).WaitAsync(cancellationToken);
        }
    }

    /// <summary>Carries out StartInstance; null when done, else why not.</summary>
    public async Task<string?> StartAsync(StartInstance command)
    {
        if (InstanceSpecValidator.Validate(command.Spec) is { } invalid)
        {
            return invalid;
        }

        var spec = command.Spec;
        var (grant, refused) = _allowlist.Check(spec.Process);
        if (grant is null)
        {
            Log.Refused(_logger, spec.InstanceId, spec.Process.Command, refused!);
            if (!_instances.ContainsKey(spec.InstanceId))
            {
                // Reported failed too, so the refusal shows where the instance's state does (the
                // instance list, the start check that places it elsewhere), not only in a command result.
                _outbox.TrySend(new AgentMessage { InstanceReport = RefusedReport(spec, refused!) });
            }

            return refused;
        }

        string? staged = null;
        if (command.Restore is { } restore)
        {
            var (path, error) = _staging.Find(spec.InstanceId, restore);
            if (path is null)
            {
                return error;
            }

            staged = path;
        }

        if (_instances.TryGetValue(spec.InstanceId, out var existing))
        {
            if (existing.Traffic.Draining)
            {
                // Its stop is under way (a drain): starting it "again" now would be undone by that stop.
                return $"instance '{spec.InstanceId}' is draining before its stop; start it again once it reports stopped";
            }

            if (staged is null && existing.Spec.Equals(spec))
            {
                SendReport(existing);
                return null;
            }

            if (staged is null && OnlySettingsDiffer(existing.Spec, spec))
            {
                // A new SLO, queue length or timeout is the shim's business, and a new fencing epoch
                // is what the next commits carry: the process keeps running.
                existing.UpdateSpec(spec);
                Log.ShimUpdated(_logger, spec.InstanceId);
                Changed?.Invoke();
                SendReport(existing);
                return null;
            }

            Log.Replacing(_logger, spec.InstanceId, existing.Spec.Version, spec.Version);
            existing.Directory.Create(grant.User);
            await existing.ReplaceAsync(spec, staged is null ? null : () => RestoreFrom(staged, existing.Directory, restore: command.Restore!, existing), grant);
            Changed?.Invoke();
            return null;
        }

        var directory = new InstanceDirectory(_root, spec.InstanceId);
        CreateRoot();
        directory.Create(grant.User);
        if (staged is not null)
        {
            StateArchive.Restore(staged, directory.StatePath, grant.User is { } user ? (user.Uid, user.Gid) : null);
            File.Delete(staged);
            Log.Restored(_logger, spec.InstanceId, command.Restore!.Version);
        }

        directory.WriteSpec(spec);

        // A restored instance starts from the restored version, so its next commit is that version + 1.
        var restoredFrom = command.Restore is { } restored
            ? new InstanceRuntime(0, 0, 0, "", 0, restored.Version, restored.Sha256)
            : null;
        Launch(directory, spec, restoredFrom, grant);
        return null;
    }

    /// <summary>Carries out StopInstance; null when done, else why not.</summary>
    public async Task<string?> StopAsync(StopInstance command)
    {
        if (InstanceIds.Validate(command.InstanceId) is { } invalid)
        {
            return invalid;
        }

        var drain = command.DrainTimeout?.ToTimeSpan() ?? TimeSpan.Zero;
        if (drain < TimeSpan.Zero || drain > MaxDrain)
        {
            return $"drainTimeout = {drain.TotalSeconds:0.###} s; expected 0 to {MaxDrain.TotalSeconds:0} s";
        }

        if (command.BelowEpoch > 0 && _instances.TryGetValue(command.InstanceId, out var current) && current.Spec.Epoch >= command.BelowEpoch)
        {
            // A stop of a stale copy that comes after the instance was assigned here again: that copy is gone.
            Log.StaleStopSkipped(_logger, command.InstanceId, current.Spec.Epoch, command.BelowEpoch);
            return null;
        }

        if (_instances.TryGetValue(command.InstanceId, out var already) && already.Traffic.Draining)
        {
            // A stop is under way and lets its requests finish: a second stop (a repeat, or one
            // without a drain) must not cut that short.
            return null;
        }

        if (drain > TimeSpan.Zero && _instances.TryGetValue(command.InstanceId, out var draining))
        {
            // The shim hands it no new request from now on; those it serves may finish first. The wait
            // runs off the command queue, so a long drain does not hold back the commands behind it
            // (the routes that took its traffic away, other instances' starts): the command is
            // answered now, and the instance reports stopped once it is.
            draining.Traffic.BeginDrain();
            _ = Task.Run(() => DrainThenStopAsync(draining, command, drain));
            return null;
        }

        return await StopNowAsync(command);
    }

    private static InstanceReport RefusedReport(InstanceSpec spec, string reason)
    {
        var report = new InstanceReport
        {
            InstanceId = spec.InstanceId,
            Function = spec.Function,
            Version = spec.Version,
            State = InstanceState.Failed,
            Reason = $"refused by the runtime allowlist: {reason}",
            Kind = spec.Kind,
            Epoch = spec.Epoch,
        };
        report.GpuUuids.Add(spec.GpuUuids);
        return report;
    }

    private static bool OnlySettingsDiffer(InstanceSpec running, InstanceSpec wanted)
    {
        var withWantedSettings = running.Clone();
        withWantedSettings.Shim = wanted.Shim;
        withWantedSettings.Epoch = wanted.Epoch;
        return withWantedSettings.Equals(wanted);
    }

    /// <summary>
    /// Stops a copy of an instance the aggregator fenced off (its commit under <paramref name="epoch"/>
    /// was refused: the instance was assigned again elsewhere), keeping its state directory as a stop
    /// without delete_state does. Nothing happens when the instance runs under another epoch by now
    /// (started again here since), or is already stopping.
    /// </summary>
    public async Task StopFencedAsync(string instanceId, ulong epoch)
    {
        if (!_instances.TryGetValue(instanceId, out var fenced) || fenced.Spec.Epoch != epoch || fenced.Traffic.Draining)
        {
            return;
        }

        await StopNowAsync(new StopInstance { InstanceId = instanceId, DeleteState = false }, fenced);
    }

    private async Task DrainThenStopAsync(InstanceSupervisor draining, StopInstance command, TimeSpan drain)
    {
        var idle = await draining.Traffic.WaitIdleAsync(drain, _time);
        Log.Drained(_logger, command.InstanceId, idle, draining.Traffic.InFlight);
        try
        {
            await StopNowAsync(command, draining);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            Log.StopFailed(_logger, command.InstanceId, ex.Message);
        }
    }

    /// <summary>Stops the instance now: <paramref name="only"/>, when given, and no other that took its id meanwhile.</summary>
    private async Task<string?> StopNowAsync(StopInstance command, InstanceSupervisor? only = null)
    {
        var removed = only is null
            ? _instances.TryRemove(command.InstanceId, out var supervisor)
            : _instances.TryRemove(new KeyValuePair<string, InstanceSupervisor>(command.InstanceId, supervisor = only));
        if (!removed || supervisor is null)
        {
            return null; // Already stopped: stopping is idempotent.
        }

        supervisor.Traffic.BeginDrain();

        Changed?.Invoke();
        await supervisor.StopAsync();
        _tokens.Revoke(command.InstanceId);
        SendReport(supervisor);
        // Its probe's pages go with it: a process of it still mapping one is gone (the stop waits for its group).
        _probe.Remove(command.InstanceId);
        if (command.DeleteState)
        {
            supervisor.Directory.Delete();
        }
        else
        {
            supervisor.Directory.Forget();
            supervisor.Directory.ClearStaging();
        }

        Log.Stopped(_logger, command.InstanceId, command.DeleteState);
        return null;
    }

    /// <summary>Carries out RestoreState; null when done, else why not.</summary>
    public async Task<string?> RestoreAsync(RestoreState command)
    {
        if (!_instances.TryGetValue(command.InstanceId, out var supervisor))
        {
            return $"instance '{command.InstanceId}' does not run on this node";
        }

        var (path, error) = _staging.Find(command.InstanceId, command.Snapshot);
        if (path is null)
        {
            return error;
        }

        await supervisor.ReplaceAsync(supervisor.Spec, () => RestoreFrom(path, supervisor.Directory, command.Snapshot, supervisor));
        return null;
    }

    private async Task RestoreFrom(string staged, InstanceDirectory directory, StateRef restore, InstanceSupervisor supervisor)
    {
        await supervisor.StateGate.WaitAsync();
        try
        {
            StateArchive.Restore(staged, directory.StatePath, supervisor.Runtime.User is { } user ? (user.Uid, user.Gid) : null);
            File.Delete(staged);
            supervisor.StateCommitted(restore.Version, restore.Sha256);
        }
        finally
        {
            supervisor.StateGate.Release();
        }

        Log.Restored(_logger, directory.InstanceId, restore.Version);
    }

    /// <summary>
    /// The folder of every instance: others may pass through it (0711) to an instance that runs as its
    /// own user, but not list it.
    /// </summary>
    private void CreateRoot()
    {
        Directory.CreateDirectory(_root);
        File.SetUnixFileMode(_root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
    }

    /// <summary>The allowlist's grant for a spec found on disk, or null (logged) when it is no longer allowed.</summary>
    private RuntimeGrant? Allow(InstanceSpec spec)
    {
        var (grant, refused) = _allowlist.Check(spec.Process);
        if (grant is null)
        {
            Log.Refused(_logger, spec.InstanceId, spec.Process.Command, refused!);
        }

        return grant;
    }

    private InstanceSupervisor Launch(InstanceDirectory directory, InstanceSpec spec, InstanceRuntime? runtime, RuntimeGrant grant)
    {
        var token = runtime?.Token is { Length: > 0 } kept ? _tokens.Restore(spec.InstanceId, kept) : _tokens.Issue(spec.InstanceId);
        var port = runtime?.Port is > 0 and var p ? p : LoopbackPorts.Free();
        var environment = new InstanceEnvironment(port, token, _nodeId, _options.LocalSocketPath, _probe);
        var supervisor = new InstanceSupervisor(
            directory,
            spec,
            environment,
            runtime,
            _policy,
            _time,
            _loggers.CreateLogger($"Drover.Agent.Instances.Instance.{spec.InstanceId}"),
            SendReport,
            grant);
        _instances[spec.InstanceId] = supervisor;
        supervisor.Start();
        Changed?.Invoke();
        return supervisor;
    }

    private void ReportAll()
    {
        foreach (var supervisor in _instances.Values)
        {
            SendReport(supervisor);
        }
    }

    private void SendReport(InstanceSupervisor supervisor) => _outbox.TrySend(new AgentMessage { InstanceReport = supervisor.Report() });

    private static partial class Log
    {
        [LoggerMessage(EventId = 2801, EventName = "InstanceResumed", Level = LogLevel.Information,
            Message = "Found instance '{InstanceId}' of the previous agent (process {Pid}); adopting or restarting it.")]
        public static partial void Resumed(ILogger logger, string instanceId, int pid);

        [LoggerMessage(EventId = 2802, EventName = "InstanceResumeFailed", Level = LogLevel.Error,
            Message = "Instance '{InstanceId}' of the previous agent cannot be resumed: {Reason}.")]
        public static partial void ResumeFailed(ILogger logger, string instanceId, string reason);

        [LoggerMessage(EventId = 2803, EventName = "InstanceReplacing", Level = LogLevel.Information,
            Message = "Replacing instance '{InstanceId}' (version '{OldVersion}' by '{NewVersion}'), keeping its state.")]
        public static partial void Replacing(ILogger logger, string instanceId, string oldVersion, string newVersion);

        [LoggerMessage(EventId = 2804, EventName = "InstanceRestored", Level = LogLevel.Information,
            Message = "Instance '{InstanceId}' state restored from snapshot version {Version}.")]
        public static partial void Restored(ILogger logger, string instanceId, ulong version);

        [LoggerMessage(EventId = 2805, EventName = "InstanceStopped", Level = LogLevel.Information,
            Message = "Instance '{InstanceId}' stopped (state deleted: {Deleted}).")]
        public static partial void Stopped(ILogger logger, string instanceId, bool deleted);

        [LoggerMessage(EventId = 2808, EventName = "InstanceShimUpdated", Level = LogLevel.Information,
            Message = "Instance '{InstanceId}' takes new shim settings; its process keeps running.")]
        public static partial void ShimUpdated(ILogger logger, string instanceId);

        [LoggerMessage(EventId = 2807, EventName = "InstanceStopFailed", Level = LogLevel.Error,
            Message = "Instance '{InstanceId}' could not be stopped after its drain: {Reason}.")]
        public static partial void StopFailed(ILogger logger, string instanceId, string reason);

        [LoggerMessage(EventId = 2809, EventName = "InstanceRuntimeRefused", Level = LogLevel.Warning,
            Message = "Instance '{InstanceId}' with command '{Command}' refused by the runtime allowlist: {Reason}.")]
        public static partial void Refused(ILogger logger, string instanceId, string command, string reason);

        [LoggerMessage(EventId = 2810, EventName = "RuntimeAllowlistEmpty", Level = LogLevel.Warning,
            Message = "The runtime allowlist (runtimes) is empty: this node refuses every instance until it lists the executables, or directories of them, that instances may run.")]
        public static partial void AllowlistEmpty(ILogger logger);

        [LoggerMessage(EventId = 2806, EventName = "InstanceDrained", Level = LogLevel.Information,
            Message = "Instance '{InstanceId}' drained before its stop (all requests finished: {Idle}; still in flight: {InFlight}).")]
        public static partial void Drained(ILogger logger, string instanceId, bool idle, int inFlight);

        [LoggerMessage(EventId = 2811, EventName = "StaleStopSkipped", Level = LogLevel.Information,
            Message = "Instance '{InstanceId}' runs under epoch {Epoch}: the stop of its copies below epoch {BelowEpoch} (a stale copy's) leaves it running.")]
        public static partial void StaleStopSkipped(ILogger logger, string instanceId, ulong epoch, ulong belowEpoch);
    }
}
