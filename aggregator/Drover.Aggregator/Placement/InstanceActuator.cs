using Drover.Aggregator.Fleet;
using Drover.Aggregator.Functions;
using Drover.Aggregator.Link;
using Drover.Aggregator.State;
using Drover.Aggregator.Workloads;
using Drover.Protocol.Snapshots;
using Drover.Protocol.V1;
using Google.Protobuf.WellKnownTypes;

namespace Drover.Aggregator.Placement;

/// <summary>
/// Turns placement decisions into effects: assignments in the instance table and commands to the
/// agents (StartInstance, preceded by the last committed snapshot as restore chunks when an instance
/// resumes elsewhere; StopInstance). The only code that sends instance commands.
/// </summary>
/// <remarks>
/// The assignment is made at once; the commands go on the node's own send lane
/// (<see cref="NodeSendLanes"/>), so no caller (a placement pass, an API handler) waits on a node, and
/// a node that does not read its stream delays no other node's commands. The decision record of a
/// start, move or stop is written once its commands were queued on the node's stream, or found it
/// disconnected.
/// </remarks>
internal sealed partial class InstanceActuator
{
    private readonly InstanceTable _instances;
    private readonly AgentConnections _connections;
    private readonly IStateStore _store;
    private readonly DecisionLog _decisions;
    private readonly TimeProvider _time;
    private readonly ILogger<InstanceActuator> _logger;
    private readonly NodeSendLanes _lanes;
    private readonly CommandResults _results;

    public InstanceActuator(InstanceTable instances, AgentConnections connections, CommandResults results, IStateStore store, DecisionLog decisions, TimeProvider time, ILogger<InstanceActuator> logger)
    {
        _lanes = new NodeSendLanes(logger);
        _instances = instances;
        _connections = connections;
        _results = results;
        _store = store;
        _decisions = decisions;
        _time = time;
        _logger = logger;
    }

    /// <summary>The spec an instance of <paramref name="function"/> runs with, given the hashes of its invocation keys.</summary>
    public static InstanceSpec SpecFor(FunctionDefinition function, IReadOnlyList<string> keyHashes, string instanceId)
        => SpecFor(function.Name, function.Version, function.Runtime, function.CommitIntervalSeconds, function, keyHashes, WorkloadKind.Function, instanceId, function.GpuProbe);

    /// <summary>The spec of an instance of a function or a service; <paramref name="gpuProbe"/>: run it with the CUDA launch probe.</summary>
    public static InstanceSpec SpecFor(string name, string version, ProcessRuntimeDefinition runtime, int commitIntervalSeconds, IShimSettings shim, IReadOnlyList<string> keyHashes, WorkloadKind kind, string instanceId, bool gpuProbe = false)
    {
        var spec = new InstanceSpec
        {
            InstanceId = instanceId,
            Function = name,
            Version = version,
            Process = new ProcessRuntime { Command = runtime.Command, WorkingDirectory = runtime.WorkingDirectory },
            CommitInterval = Duration.FromTimeSpan(TimeSpan.FromSeconds(commitIntervalSeconds)),
            Shim = ShimSettingsValidator.ToSpec(shim, keyHashes),
            Kind = kind,
            GpuProbe = gpuProbe,
        };
        spec.Process.Args.Add(runtime.Args);
        foreach (var (key, value) in runtime.Env)
        {
            spec.Process.Env[key] = value;
        }

        return spec;
    }

    /// <summary>Completes once every node's lane has sent what was queued on it so far: a seam for tests.</summary>
    internal Task IdleAsync() => _lanes.IdleAsync();

    /// <summary>
    /// Starts a new instance of <paramref name="workload"/> on <paramref name="nodeId"/>, at home in that
    /// node's <paramref name="cluster"/>, on <paramref name="gpuUuid"/> when one is chosen; returns its id.
    /// </summary>
    public string StartNew(Workload workload, string nodeId, string cluster, string reason, CancellationToken cancellationToken, string? gpuUuid = null)
    {
        var instanceId = $"{WorkloadKeys.InstancePrefix(workload.Key)}-{Guid.NewGuid().ToString("N")[..10]}";
        // The GPU goes with the assignment: the workload's spec names it from there.
        var epoch = _instances.Assign(instanceId, workload.Key, nodeId, cluster, gpuUuid);
        var spec = SpecOf(workload, instanceId, epoch);

        _lanes.Post(nodeId, async () =>
        {
            var connection = _connections.Find(nodeId);
            var sent = await SendStartAsync(connection, spec, null, cancellationToken);
            Record("start", workload.Key, instanceId, null, nodeId, null, reason, sent ? (gpuUuid is null ? "StartInstance sent" : $"StartInstance sent for GPU '{gpuUuid}'") : NotReached(nodeId, connection));
        });
        return instanceId;
    }

    /// <summary>Records a scaling decision (its inputs and outcome) beside the starts and stops carrying it out.</summary>
    public void RecordScaling(string function, string reason, string outcome, object inputs)
    {
        _decisions.Add(new DecisionRecord(_time.GetUtcNow(), "scale", function, null, null, null, null, reason, outcome, inputs));
        Log.Decision(_logger, "scale", function, "", reason, outcome);
    }

    /// <summary>
    /// Resumes an instance on <paramref name="toNodeId"/> (its node is lost, or it fails back home), from its
    /// last committed snapshot, on <paramref name="gpuUuid"/> when one is chosen.
    /// </summary>
    public void Move(Workload workload, string instanceId, string fromNodeId, string toNodeId, string reason, CancellationToken cancellationToken, string? gpuUuid = null)
    {
        var epoch = _instances.Assign(instanceId, workload.Key, toNodeId, gpuUuid: gpuUuid);
        _lanes.Post(toNodeId, async () =>
        {
            var connection = _connections.Find(toNodeId);
            var (sent, restored) = await SendStartWithLatestStateAsync(connection, SpecOf(workload, instanceId, epoch), cancellationToken);
            Record("move", workload.Key, instanceId, fromNodeId, toNodeId, restored, reason,
                !sent ? NotReached(toNodeId, connection) : restored is null ? "StartInstance sent (no committed state: starts empty)" : $"StartInstance sent with state version {restored}");
        });
    }

    /// <summary>
    /// Sends the instance's start again (an unconfirmed start, a new function version, or with
    /// <paramref name="settingsOnly"/> a changed definition of the same version); the agent treats a
    /// repeat as a no-op. A node that never confirmed the instance may not hold its state: it gets the
    /// last snapshot too, unless only the settings changed.
    /// </summary>
    public void Resend(Workload workload, InstanceView instance, bool settingsOnly, CancellationToken cancellationToken)
    {
        var nodeId = instance.AssignedNodeId;
        var spec = SpecOf(workload, instance.InstanceId, instance.Epoch);
        _lanes.Post(nodeId, async () =>
        {
            if (!settingsOnly && instance.ReportedNodeId is null)
            {
                await SendStartWithLatestStateAsync(_connections.Find(nodeId), spec, cancellationToken);
            }
            else
            {
                await SendStartAsync(_connections.Find(nodeId), spec, null, cancellationToken);
            }
        });
    }

    /// <summary>
    /// Stops an instance for good (scaled down, removed by placement, its function deleted, its set
    /// retired), after letting its requests finish for <paramref name="drain"/>: the instance table
    /// replaces its assignment by a pending stop, durable before the StopInstance leaves, and the stop
    /// stays pending (and the follow-up sends it again) until the node acknowledges it.
    /// </summary>
    public void StopForGood(string function, string instanceId, string nodeId, bool deleteState, string reason, TimeSpan? drain, CancellationToken cancellationToken)
    {
        _instances.Remove(instanceId, deleteState);
        SendStop(function, instanceId, nodeId, deleteState, reason, drain, acknowledged: true, cancellationToken);
    }

    /// <summary>Sends a pending stop again (its node missed it, or ran the instance on after it), without a drain.</summary>
    public void ResendStop(StoredStop stop, string reason, CancellationToken cancellationToken)
        => SendStop(stop.Function, stop.InstanceId, stop.NodeId, stop.DeleteState, reason, null, acknowledged: true, cancellationToken);

    /// <summary>Stops a stale copy of an instance (it runs on where the instance is no longer assigned), keeping its state; the copy's reports say whether it went.</summary>
    public void StopStaleCopy(string function, string instanceId, string nodeId, string reason, CancellationToken cancellationToken)
        => SendStop(function, instanceId, nodeId, deleteState: false, reason, null, acknowledged: false, cancellationToken, belowEpoch: (ulong)_instances.Epoch(instanceId));

    /// <summary>
    /// Queues a StopInstance on the node's lane; with <paramref name="acknowledged"/>, the node's answer
    /// acknowledges the pending stop in the instance table.
    /// </summary>
    private void SendStop(string function, string instanceId, string nodeId, bool deleteState, string reason, TimeSpan? drain, bool acknowledged, CancellationToken cancellationToken, ulong belowEpoch = 0)
    {
        var stop = new StopInstance { InstanceId = instanceId, DeleteState = deleteState, DrainTimeout = drain is { } d ? Duration.FromTimeSpan(d) : null, BelowEpoch = belowEpoch };
        var command = new Command { CommandId = Guid.NewGuid().ToString("N"), StopInstance = stop };
        _lanes.Post(nodeId, async () =>
        {
            var connection = _connections.Find(nodeId);
            if (acknowledged && connection is not null)
            {
                _results.Expect(command.CommandId, nodeId, result =>
                {
                    if (result.Ok)
                    {
                        _instances.StopAcknowledged(instanceId, nodeId);
                    }
                    else
                    {
                        Log.StopRefused(_logger, instanceId, nodeId, result.Error);
                    }
                });
            }

            var sent = connection is not null && await connection.SendAsync(new AggregatorMessage { Command = command }, cancellationToken);
            Record("stop", function, instanceId, nodeId, null, null, reason, sent ? "StopInstance sent" : NotReached(nodeId, connection) + "; the stop is sent again once it is");
        });
    }

    /// <remarks>
    /// One stream for the chunks and the start: should the node reconnect half-way, the new stream
    /// must not get a start whose restore chunks went to the old one.
    /// </remarks>
    private async Task<(bool Sent, ulong? Restored)> SendStartWithLatestStateAsync(AgentConnection? connection, InstanceSpec spec, CancellationToken cancellationToken)
    {
        if (connection is null)
        {
            return (false, null);
        }

        await using var latest = await _store.GetLatestAsync(spec.InstanceId, cancellationToken);
        if (latest is null)
        {
            return (await SendStartAsync(connection, spec, null, cancellationToken), null);
        }

        var info = latest.Info;
        var restore = new StateRef { Version = (ulong)info.Version, Sha256 = info.Sha256Hex, SizeBytes = (ulong)info.SizeBytes };
        if (!await SendSnapshotAsync(connection, info, latest.Content, cancellationToken))
        {
            return (false, null);
        }

        return (await SendStartAsync(connection, spec, restore, cancellationToken), restore.Version);
    }

    /// <summary>The workload's spec for the instance, carrying the fencing epoch of its assignment (0: unknown).</summary>
    private static InstanceSpec SpecOf(Workload workload, string instanceId, long epoch)
    {
        var spec = workload.Spec(instanceId);
        spec.Epoch = (ulong)Math.Max(epoch, 0);
        return spec;
    }

    private static async Task<bool> SendSnapshotAsync(AgentConnection connection, SnapshotInfo info, Stream content, CancellationToken cancellationToken)
    {
        await foreach (var chunk in SnapshotChunks.ReadAsync(content, info.InstanceId, info.FunctionName, (ulong)info.Version, info.SizeBytes, info.Sha256Hex, info.TakenAt, cancellationToken))
        {
            if (!await connection.SendAsync(new AggregatorMessage { RestoreChunk = chunk }, cancellationToken))
            {
                return false;
            }
        }

        return true;
    }

    private static async Task<bool> SendStartAsync(AgentConnection? connection, InstanceSpec spec, StateRef? restore, CancellationToken cancellationToken)
    {
        if (connection is null)
        {
            return false;
        }

        var start = new StartInstance { Spec = spec, Restore = restore };
        var command = new Command { CommandId = Guid.NewGuid().ToString("N"), StartInstance = start };
        return await connection.SendAsync(new AggregatorMessage { Command = command }, cancellationToken);
    }

    /// <summary>The outcome of a command that did not reach the node's stream (<paramref name="connection"/>, null when it had none).</summary>
    private static string NotReached(string nodeId, AgentConnection? connection)
        => connection?.AbortReason is { } why
            ? $"node '{nodeId}' is not connected (its stream was aborted: {why})"
            : $"node '{nodeId}' is not connected";

    private void Record(string kind, string function, string? instanceId, string? from, string? to, ulong? restored, string reason, string outcome)
    {
        _decisions.Add(new DecisionRecord(_time.GetUtcNow(), kind, function, instanceId, from, to, restored, reason, outcome));
        Log.Decision(_logger, kind, function, instanceId ?? "", reason, outcome);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1401, EventName = "PlacementDecision", Level = LogLevel.Information,
            Message = "Placement: {Kind} of function '{Function}' instance '{InstanceId}': {Reason}. {Outcome}.")]
        public static partial void Decision(ILogger logger, string kind, string function, string instanceId, string reason, string outcome);

        [LoggerMessage(EventId = 1405, EventName = "StopRefused", Level = LogLevel.Warning,
            Message = "Node '{NodeId}' refused the stop of instance '{InstanceId}': {Error}. The stop stays pending and is sent again without a drain.")]
        public static partial void StopRefused(ILogger logger, string instanceId, string nodeId, string error);
    }
}
