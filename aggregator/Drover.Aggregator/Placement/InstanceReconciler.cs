using Drover.Aggregator.Access;
using Drover.Aggregator.Clusters;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Metrics;
using Drover.Aggregator.Functions;
using Drover.Aggregator.Services;
using Drover.Aggregator.State;
using Drover.Decisions.Health;
using Drover.Decisions.Liveness;
using Drover.Decisions.Reconcile;
using Drover.Decisions.Scaling;
using Drover.Gateway;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Placement;

/// <summary>
/// Every monitoring period (or when woken): a snapshot of nodes, workloads and instances; one pure
/// pass over it and the memory the last pass left (<see cref="ReconcilePass"/>); the actuator carrying
/// out its actions; the next memory kept (penalties and scale-down windows in the store).
/// </summary>
internal sealed partial class InstanceReconciler : BackgroundService
{
    /// <summary>How long an assignment may wait for its node's report before the start is sent again.</summary>
    public static readonly TimeSpan ConfirmTimeout = TimeSpan.FromSeconds(10);

    private readonly NodeTable _nodes;
    private readonly InstanceTable _instances;
    private readonly FunctionRegistry _functions;
    private readonly ServiceController _services;
    private readonly InstanceActuator _actuator;
    private readonly ClusterHealthMonitor _health;
    private readonly AggregatorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<InstanceReconciler> _logger;
    private readonly PassTrigger _trigger;
    private readonly WorkloadStatsTable _stats;
    private readonly GatewayLoad _gatewayLoad;
    private readonly NodePenalties _penalties;
    private readonly ScalingWindows _windows;
    private readonly InvocationKeyStore _keys;

    // What the last pass left the next (the store keeps its penalties and windows), and when it ran.
    private ReconcileMemory? _memory;
    private long? _lastPass;
    private IReadOnlyDictionary<string, int> _desired = new Dictionary<string, int>(StringComparer.Ordinal);

    public InstanceReconciler(NodeTable nodes, InstanceTable instances, FunctionRegistry functions, ServiceController services, InstanceActuator actuator, ClusterHealthMonitor health, WorkloadStatsTable stats, GatewayLoad gatewayLoad, InvocationKeyStore keys, AggregatorOptions options, TimeProvider time, ILogger<InstanceReconciler> logger, NodePenalties? penalties = null, ScalingWindows? windows = null)
    {
        _keys = keys;
        _stats = stats;
        _gatewayLoad = gatewayLoad;
        // The memory kept across restarts (the host registers both with the store); memory only when null.
        _penalties = penalties ?? new NodePenalties(time);
        _windows = windows ?? new ScalingWindows();
        _health = health;
        _services = services;
        _nodes = nodes;
        _instances = instances;
        _functions = functions;
        _actuator = actuator;
        _options = options;
        _time = time;
        _trigger = new PassTrigger(time);
        _logger = logger;
        Progress = new LoopProgress("placement", () => options.MonitorPeriod, time);
    }

    /// <summary>When the decision loop last completed a pass (a failed one too: the loop goes on), for the systemd watchdog.</summary>
    public LoopProgress Progress { get; }

    /// <summary>How many instances the last pass wanted for an autoscaled function; null for others and before the first pass.</summary>
    public int? DesiredInstances(string function) => Volatile.Read(ref _desired).TryGetValue(function, out var desired) ? desired : null;

    /// <summary>Asks for a pass now (a function changed, a node was lost) rather than at the next period.</summary>
    public void Wake() => _trigger.Wake();

    /// <summary>
    /// One pass: snapshot, decide, act, keep the memory. It never waits on a node: the actuator queues
    /// each node's commands on that node's own lane (<see cref="NodeSendLanes"/>).
    /// </summary>
    public void Reconcile(CancellationToken cancellationToken)
    {
        // Services first: a rollout step changes which sets placement keeps.
        _services.Reconcile(_nodes.Snapshot(), _instances.Snapshot());

        var now = _time.GetTimestamp();
        var elapsed = _lastPass is { } last ? _time.GetElapsedTime(last, now) : TimeSpan.Zero;
        _lastPass = now;
        var memory = _memory ?? ReconcileMemory.Start(_windows.Loaded, _penalties.Current());
        var (snapshot, workloads, nodes) = Snapshot(now, elapsed);

        var result = ReconcilePass.Decide(snapshot, memory);
        Act(result.Actions, workloads, nodes, cancellationToken);

        _memory = result.Memory;
        _penalties.Keep(result.Memory.Penalties);
        _windows.Keep(result.Memory.Windows);
        Volatile.Write(ref _desired, result.Desired);
    }

    /// <summary>The pass's snapshot, with the workloads (their specs) and nodes the actions are carried out with.</summary>
    private (ReconcileSnapshot Snapshot, Dictionary<string, Workload> Workloads, IReadOnlyList<NodeView> Nodes) Snapshot(long now, TimeSpan elapsed)
    {
        var nodes = _nodes.Snapshot();
        var instances = _instances.Snapshot();
        var definitions = _functions.All;
        var workloads = definitions.Select(WorkloadOf).Concat(_services.Workloads()).ToDictionary(w => w.Key, StringComparer.Ordinal);
        var scaling = definitions.Where(f => f.Autoscaled).ToDictionary(f => f.Name, ScalingFunctionOf, StringComparer.Ordinal);
        var health = _health.Current;
        var snapshot = new ReconcileSnapshot(
            nodes.Select(n => new ReconcileNode(
                n.NodeId,
                n.Identity.Cluster,
                n.Identity.ServerNumber,
                n.Survives(_options),
                n.Survival == NodeSurvival.Lost,
                n.Connected,
                n.Priority,
                n.Weight,
                n.Gpus.Gpus.Select(ScalingGpuOf).ToArray())).ToArray(),
            workloads.Values.Select(w => new ReconcileWorkload(w.Key, w.Version, w.Spec("").ToString(), w.Instances, scaling.GetValueOrDefault(w.Key), w.DrainTimeout)).ToArray(),
            instances.Select(i => new ReconcileInstance(
                i.InstanceId,
                i.Function,
                i.AssignedNodeId,
                i.HomeCluster,
                i.AssignedAt,
                _time.GetElapsedTime(i.AssignedAt, now),
                i.ReportedNodeId is not null,
                i.State == "failed",
                i.Reason,
                MayHoldState: i.CommittedStateVersion > 0 || i.Epoch > 1 || i.Loaded,
                i.Loaded,
                i.Ready,
                i.Version,
                i.GpuUuid)).ToArray(),
            _instances.StaleCopies().Select(c => new ReconcileStaleCopy(c.InstanceId, c.NodeId, c.Function)).ToArray(),
            _instances.PendingStops().Select(s => new ReconcilePendingStop(s.InstanceId, s.NodeId, s.Function, s.DeleteState)).ToArray(),
            scaling.Keys.ToDictionary(
                name => name,
                name => new FunctionLoad(
                    _stats.For(WorkloadKind.Function, name).ToDictionary(s => s.Key, s => new NodeLoad((long)s.Value.Queued, (long)s.Value.InFlight), StringComparer.Ordinal),
                    _gatewayLoad.Held(name)),
                StringComparer.Ordinal),
            health?.Shares.Where(s => s.Share > 0).Select(s => s.Cluster).ToHashSet(StringComparer.Ordinal),
            BackupOrder.Of(health),
            _instances.AwaitedNodes(),
            _time.GetElapsedTime(_instances.LoadedAt, now),
            RestartGrace.Of(_options.RestartGrace, NodeLiveness.Lease(_options.HeartbeatInterval, _options.MissedHeartbeats)),
            elapsed,
            ConfirmTimeout);
        return (snapshot, workloads, nodes);
    }

    /// <summary>
    /// An autoscaled function's settings as the autoscaler reads them (no maximum: the minimum). A <c>gpu</c> that
    /// does not parse (validated on the way in, so never) asks for any GPU.
    /// </summary>
    internal static ScalingFunction ScalingFunctionOf(FunctionDefinition function) => new(
        function.Name,
        function.Slo,
        function.Margin,
        function.MinInstances,
        function.MaxInstances ?? function.MinInstances,
        function.GpuMemoryBytes,
        TimeSpan.FromSeconds(function.ScaleDownWindowSeconds),
        GpuRequest.TryParse(function.Gpu, out var gpu) ? gpu : default);

    /// <summary>
    /// A GPU as the autoscaler ranks it: usable while ok or degraded (ranked after the ok ones). A whole GPU with
    /// MIG enabled is never usable (CUDA cannot use it whole): its MIG instances, GPUs of their own, are.
    /// </summary>
    internal static ScalingGpu ScalingGpuOf(GpuState gpu) => new(
        gpu.Uuid,
        (gpu.Health is GpuHealthState.Ok or GpuHealthState.Degraded) && (gpu.Mig is not null || !gpu.MigEnabled),
        (long)Math.Min(gpu.MemoryFreeBytes, long.MaxValue),
        gpu.CommandQueueLength,
        (int)Math.Min(gpu.UtilizationGpuPercent, 100),
        Degraded: gpu.Health == GpuHealthState.Degraded,
        QueueSource: gpu.CommandQueueSource switch
        {
            "measured" => QueueSource.Measured,
            "reported" => QueueSource.Reported,
            "unknown" => QueueSource.Unknown,
            _ => QueueSource.Estimated,
        },
        MigProfile: gpu.Mig?.Profile);

    /// <summary>Carries out a pass's actions, in order.</summary>
    private void Act(IReadOnlyList<ReconcileAction> actions, Dictionary<string, Workload> workloads, IReadOnlyList<NodeView> nodes, CancellationToken cancellationToken)
    {
        var clusterOf = nodes.ToDictionary(n => n.NodeId, n => n.Identity.Cluster, StringComparer.Ordinal);
        Dictionary<string, InstanceView>? current = null;
        Dictionary<string, StoredStop>? pending = null;

        // Resends go with the assignment as it stands after this pass's moves (their epochs).
        InstanceView? Current(string instanceId)
        {
            current ??= _instances.Snapshot().ToDictionary(i => i.InstanceId, StringComparer.Ordinal);
            return current.GetValueOrDefault(instanceId);
        }

        foreach (var action in actions)
        {
            switch (action.Kind)
            {
                case ReconcileActionKind.Start:
                    _actuator.StartNew(workloads[action.Workload], action.ToNodeId!, clusterOf.GetValueOrDefault(action.ToNodeId!, ""), action.Reason, cancellationToken, action.GpuUuid);
                    break;
                case ReconcileActionKind.Move:
                    _actuator.Move(workloads[action.Workload], action.InstanceId!, action.FromNodeId!, action.ToNodeId!, action.Reason, cancellationToken, action.GpuUuid);
                    break;
                case ReconcileActionKind.Stop:
                    // A service's instance leaves the routes first; stopped once every node applied that.
                    if (!action.RoutesFirst || _services.MayStop(action.Workload, action.InstanceId!))
                    {
                        _actuator.StopForGood(action.Workload, action.InstanceId!, action.FromNodeId!, deleteState: true, action.Reason, action.Drain, cancellationToken);
                    }

                    break;
                case ReconcileActionKind.StopDeleted:
                    _actuator.StopForGood(action.Workload, action.InstanceId!, action.FromNodeId!, deleteState: true, action.Reason, _services.DrainFor(action.Workload), cancellationToken);
                    break;
                case ReconcileActionKind.StopStaleCopy:
                    _actuator.StopStaleCopy(action.Workload, action.InstanceId!, action.FromNodeId!, action.Reason, cancellationToken);
                    break;
                case ReconcileActionKind.ResendStop:
                    pending ??= _instances.PendingStops().ToDictionary(s => s.InstanceId, StringComparer.Ordinal);
                    if (pending.TryGetValue(action.InstanceId!, out var stop))
                    {
                        _actuator.ResendStop(stop, action.Reason, cancellationToken);
                    }

                    break;
                case ReconcileActionKind.Resend:
                case ReconcileActionKind.ResendSettings:
                    if (Current(action.InstanceId!) is { } instance && instance.AssignedNodeId == action.ToNodeId)
                    {
                        _actuator.Resend(workloads[action.Workload], instance, settingsOnly: action.Kind == ReconcileActionKind.ResendSettings, cancellationToken);
                    }

                    break;
                case ReconcileActionKind.RecordScaling:
                    var decision = action.Scaling!;
                    _actuator.RecordScaling(decision.Function, ScalingRecords.Reason(decision), ScalingRecords.Outcome(decision), ScalingRecords.Inputs(decision));
                    break;
                case ReconcileActionKind.LogShortfall:
                    Log.Shortfall(_logger, action.Workload, action.InstanceId ?? "", action.Reason);
                    break;
                case ReconcileActionKind.LogStartFailed:
                    Log.StartFailed(_logger, action.Workload, action.InstanceId!, action.FromNodeId!, action.Reason, (int)NodePenalties.Duration.TotalSeconds);
                    break;
            }
        }
    }

    /// <summary>
    /// The workload whose spec an instance of <paramref name="function"/> runs with, with its invocation
    /// keys as they stand: an autoscaled one's spec names the GPU chosen for the instance, so a resent
    /// spec (a changed definition) keeps it there.
    /// </summary>
    private Workload WorkloadOf(FunctionDefinition function)
    {
        var plain = Workload.Of(function, _keys.HashesOf(WorkloadRef.OfFunction(function.Name)));
        if (!function.Autoscaled)
        {
            return plain;
        }

        return plain with
        {
            Spec = id =>
            {
                var spec = plain.Spec(id);
                if (_instances.AssignedGpu(id) is { } gpu)
                {
                    spec.GpuUuids.Add(gpu);
                }

                return spec;
            },
            DrainTimeout = TimeSpan.FromMilliseconds(function.TimeoutMs),
        };
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var started = _time.GetTimestamp();
                try
                {
                    Reconcile(stoppingToken);
                }
                catch (Exception ex) when (ex is IOException or InvalidOperationException or Microsoft.Data.Sqlite.SqliteException)
                {
                    // One failed pass (a store hiccup, a closed stream) must not stop placement for good.
                    Log.PassFailed(_logger, ex.Message);
                }

                Progress.Completed();
                AggregatorMeter.PassDuration.Record(_time.GetElapsedTime(started).TotalSeconds);

                await _trigger.WaitAsync(_options.MonitorPeriod, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1402, EventName = "PlacementShortfall", Level = LogLevel.Warning,
            Message = "Placement shortfall for function '{Function}' instance '{InstanceId}': {Reason}.")]
        public static partial void Shortfall(ILogger logger, string function, string instanceId, string reason);

        [LoggerMessage(EventId = 1403, EventName = "PlacementPassFailed", Level = LogLevel.Error,
            Message = "A placement pass failed: {Reason}. The next pass tries again.")]
        public static partial void PassFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 2001, EventName = "AutoscaledStartFailed", Level = LogLevel.Warning,
            Message = "Function '{Function}' instance '{InstanceId}' did not start on node '{NodeId}': {Reason}. The node takes no new instances for {Seconds} s.")]
        public static partial void StartFailed(ILogger logger, string function, string instanceId, string nodeId, string reason, int seconds);
    }
}
