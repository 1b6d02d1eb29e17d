using Drover.Aggregator.Access;
using Drover.Aggregator.Clusters;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Functions;
using Drover.Aggregator.Services;
using Drover.Decisions.Health;
using Drover.Decisions.Liveness;
using Drover.Decisions.Placement;
using Drover.Decisions.Scaling;
using Drover.Gateway;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Placement;

/// <summary>
/// Every monitoring period: a snapshot of nodes, functions and instances; the placement and
/// follow-up decisions (<see cref="InstancePlacement"/>, <see cref="InstanceFollowUp"/>, pure); and
/// the actuator carrying them out.
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
    private readonly Dictionary<string, long> _lastSent = new(StringComparer.Ordinal);
    private readonly PassTrigger _trigger;

    // The settings each workload's instances were last handed (SettingsFollowUp's memory).
    private IReadOnlyDictionary<string, HandedSettings> _handed = new Dictionary<string, HandedSettings>(StringComparer.Ordinal);
    private readonly HashSet<string> _shortfallsLogged = new(StringComparer.Ordinal);
    private readonly WorkloadStatsTable _stats;
    private readonly GatewayLoad _gatewayLoad;
    private readonly NodePenalties _penalties;
    private readonly ScalingWindows _windows;

    // The autoscaler's memory between passes: the scale-down windows, when the last pass ran, the GPU
    // each autoscaled instance was started on, and the last shortfall recorded per function.
    private IReadOnlyDictionary<string, ScalingPrevious> _scalingPrevious = new Dictionary<string, ScalingPrevious>(StringComparer.Ordinal);
    private long? _lastScalingPass;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _gpuOf = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _shortfallRecorded = new(StringComparer.Ordinal);
    private readonly HashSet<string> _failedLogged = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _desired = new(StringComparer.Ordinal);

    private readonly InvocationKeyStore _keys;

    public InstanceReconciler(NodeTable nodes, InstanceTable instances, FunctionRegistry functions, ServiceController services, InstanceActuator actuator, ClusterHealthMonitor health, WorkloadStatsTable stats, GatewayLoad gatewayLoad, InvocationKeyStore keys, AggregatorOptions options, TimeProvider time, ILogger<InstanceReconciler> logger, NodePenalties? penalties = null, ScalingWindows? windows = null)
    {
        _keys = keys;
        _stats = stats;
        _gatewayLoad = gatewayLoad;
        // The autoscaler's memory kept across restarts (the host registers both with the store); memory only when null.
        _penalties = penalties ?? new NodePenalties(time);
        _windows = windows ?? new ScalingWindows();
        _scalingPrevious = _windows.Loaded;
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
    }

    /// <summary>How many instances the last pass wanted for an autoscaled function; null for others and before the first pass.</summary>
    public int? DesiredInstances(string function) => _desired.TryGetValue(function, out var desired) ? desired : null;

    /// <summary>Asks for a pass now (a function changed, a node was lost) rather than at the next period.</summary>
    public void Wake() => _trigger.Wake();

    /// <summary>
    /// One pass: decide on a snapshot, then act. It never waits on a node: the actuator queues each
    /// node's commands on that node's own lane (<see cref="NodeSendLanes"/>).
    /// </summary>
    public void Reconcile(CancellationToken cancellationToken)
    {
        var nodes = _nodes.Snapshot();
        var instances = _instances.Snapshot();

        // Services first: a rollout step changes which sets placement keeps below.
        _services.Reconcile(nodes, instances);
        // An autoscaled function goes to placement with the instances it has on nodes that are not lost,
        // so placement's counted rule neither adds nor removes (the autoscaler does, below) and its
        // failback still moves them home. Its instances on lost (or unknown) nodes are the autoscaler's
        // to move: they count for nothing there, so it places their replacements on the best GPUs, and
        // each replacement is the stranded instance resuming from its last committed state.
        var definitions = _functions.All;
        var autoscaled = definitions.Where(f => f.Autoscaled).ToArray();
        var live = nodes.Where(n => n.Survival != NodeSurvival.Lost).Select(n => n.NodeId).ToHashSet(StringComparer.Ordinal);

        // After a restart, the nodes of the assignments loaded from the store that have not reconnected
        // yet get restartGraceMs (at least a lease) to do so: neither lost nor a target meanwhile.
        var lease = NodeLiveness.Lease(_options.HeartbeatInterval, _options.MissedHeartbeats);
        var awaited = RestartGrace.Awaited(
            _instances.AwaitedNodes(),
            nodes.Select(n => n.NodeId),
            _time.GetElapsedTime(_instances.LoadedAt),
            RestartGrace.Of(_options.RestartGrace, lease));
        live.UnionWith(awaited);
        var homeOf = instances.Where(i => awaited.Contains(i.AssignedNodeId)).GroupBy(i => i.AssignedNodeId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(i => i.HomeCluster).FirstOrDefault(h => h is not null) ?? "", StringComparer.Ordinal);
        var autoscaledNames = autoscaled.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        var placed = instances.Where(i => !autoscaledNames.Contains(i.Function) || live.Contains(i.AssignedNodeId)).ToArray();
        var placedCount = placed.CountBy(i => i.Function, StringComparer.Ordinal).ToDictionary(StringComparer.Ordinal);
        var functions = definitions
            .Select(f => f.Autoscaled ? AutoscaledWorkload(f, placedCount.GetValueOrDefault(f.Name)) : FunctionWorkload(f))
            .Concat(_services.Workloads())
            .ToDictionary(w => w.Key, StringComparer.Ordinal);
        var snapshot = new PlacementSnapshot(
            nodes.Select(n => new PlacementNode(n.NodeId, n.Identity.Cluster, n.Identity.ServerNumber, n.Survives(_options), n.Survival == NodeSurvival.Lost))
                .Concat(awaited.Order(StringComparer.Ordinal).Select(id => new PlacementNode(id, homeOf.GetValueOrDefault(id, ""), 0, Survives: false, Lost: false)))
                .ToArray(),
            functions.Values.Select(w => new PlacementFunction(w.Key, w.Instances)).ToArray(),
            placed.Where(i => functions.ContainsKey(i.Function)).Select(i => new PlacementInstance(i.InstanceId, i.Function, i.AssignedNodeId, i.HomeCluster)).ToArray(),
            BackupOrder.Of(_health.Current));
        var clusterOf = nodes.ToDictionary(n => n.NodeId, n => n.Identity.Cluster, StringComparer.Ordinal);

        var actions = InstancePlacement.Decide(snapshot);
        _shortfallsLogged.IntersectWith(actions.Where(a => a.Kind == PlacementActionKind.Shortfall).Select(a => a.InstanceId ?? a.Function));
        foreach (var action in actions)
        {
            var function = functions[action.Function];
            switch (action.Kind)
            {
                case PlacementActionKind.Start:
                    _actuator.StartNew(function, action.ToNodeId!, clusterOf[action.ToNodeId!], action.Reason, cancellationToken);
                    break;
                case PlacementActionKind.Move:
                    _actuator.Move(function, action.InstanceId!, action.FromNodeId!, action.ToNodeId!, action.Reason, cancellationToken);
                    break;
                case PlacementActionKind.Remove:
                    if (!_services.MayStop(function.Key, action.InstanceId!))
                    {
                        break; // Out of the routes first; stopped once every node applied that.
                    }

                    StopForGood(function.Key, action.InstanceId!, action.FromNodeId!, action.Reason, function.DrainTimeout, cancellationToken);
                    break;
                case PlacementActionKind.Shortfall:
                    // Once per instance while it lasts, not once per pass.
                    if (_shortfallsLogged.Add(action.InstanceId ?? action.Function))
                    {
                        Log.Shortfall(_logger, action.Function, action.InstanceId ?? "", action.Reason);
                    }

                    break;
            }
        }

        var removed = Autoscale(autoscaled, functions, nodes, live, awaited, clusterOf, cancellationToken);
        _windows.Keep(_scalingPrevious);
        var followed = instances.Where(i => !removed.Contains(i.InstanceId)).ToArray();
        ResendChangedSettings(functions, followed, cancellationToken);
        FollowUp(functions, nodes, followed, cancellationToken);
    }

    /// <summary>
    /// A setting changed within a version (the API only records it and wakes this loop): the running
    /// instances get their spec again. <see cref="SettingsFollowUp"/> decides; the memory is what the last pass saw.
    /// </summary>
    private void ResendChangedSettings(Dictionary<string, Workload> workloads, IReadOnlyList<InstanceView> instances, CancellationToken cancellationToken)
    {
        var now = workloads.ToDictionary(w => w.Key, w => new HandedSettings(w.Value.Version, w.Value.Spec("").ToString()), StringComparer.Ordinal);
        foreach (var key in SettingsFollowUp.ToResend(_handed, now))
        {
            _actuator.ResendAll(workloads[key], instances, cancellationToken);
        }

        _handed = now;
    }

    /// <summary>
    /// The workload whose spec an instance of <paramref name="function"/> runs with: an autoscaled one's
    /// names the GPU it was started on, so a resent spec (a changed definition) keeps it there.
    /// </summary>
    public Workload WorkloadOf(FunctionDefinition function) => function.Autoscaled ? AutoscaledWorkload(function, 0) : FunctionWorkload(function);

    /// <summary>A function's workload with its invocation keys as they stand.</summary>
    private Workload FunctionWorkload(FunctionDefinition function) => Workload.Of(function, _keys.HashesOf(WorkloadRef.OfFunction(function.Name)));

    /// <summary>An autoscaled function's workload: its count as it stands, its instances' GPU in their spec.</summary>
    private Workload AutoscaledWorkload(FunctionDefinition function, int count)
    {
        var plain = FunctionWorkload(function);
        return plain with
        {
            Instances = count,
            Spec = id =>
            {
                var spec = plain.Spec(id);
                if (_gpuOf.TryGetValue(id, out var gpu))
                {
                    spec.GpuUuids.Add(gpu);
                }

                return spec;
            },
            DrainTimeout = TimeSpan.FromMilliseconds(function.TimeoutMs),
        };
    }

    /// <summary>
    /// The autoscaled functions: failed starts found (<see cref="StartCheck"/>; their node penalised),
    /// then the scaling decision on the instances of the nodes that are not lost (<paramref name="live"/>,
    /// with the <paramref name="awaited"/> ones), carried out; a start of a function with stranded
    /// instances (on lost nodes, or whose start failed and that may hold state) resumes one of them
    /// there instead (<see cref="Resumption"/>). Returns the instances it removed.
    /// </summary>
    private HashSet<string> Autoscale(IReadOnlyList<FunctionDefinition> autoscaled, Dictionary<string, Workload> functions, IReadOnlyList<NodeView> nodes, HashSet<string> live, HashSet<string> awaited, Dictionary<string, string> clusterOf, CancellationToken cancellationToken)
    {
        var removed = new HashSet<string>(StringComparer.Ordinal);
        var now = _time.GetTimestamp();
        var elapsed = _lastScalingPass is { } last ? _time.GetElapsedTime(last, now) : TimeSpan.Zero;
        _lastScalingPass = now;
        if (autoscaled.Count == 0)
        {
            _desired.Clear();
            _scalingPrevious = new Dictionary<string, ScalingPrevious>(StringComparer.Ordinal);
            _gpuOf.Clear();
            _failedLogged.Clear();
            return removed;
        }

        var names = autoscaled.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        // Stops an instance for good (its state deleted) and forgets it and its GPU.
        void Remove(string function, string instanceId, string nodeId, string reason, TimeSpan? drain)
        {
            StopForGood(function, instanceId, nodeId, reason, drain, cancellationToken);
            _gpuOf.TryRemove(instanceId, out _);
            removed.Add(instanceId);
        }

        // Starts are checked on the nodes that are known and not lost: an awaited node's instances wait for the grace.
        var before = _instances.Snapshot();
        var functionOf = before.ToDictionary(i => i.InstanceId, i => i.Function, StringComparer.Ordinal);
        var checkedStarts = before
            .Where(i => names.Contains(i.Function) && live.Contains(i.AssignedNodeId) && !awaited.Contains(i.AssignedNodeId))
            .Select(i => new StartCheckInstance(
                i.InstanceId,
                i.AssignedNodeId,
                i.ReportedNodeId is not null,
                i.State == "failed",
                i.Reason,
                _time.GetElapsedTime(i.AssignedAt, now),
                MayHoldState: i.CommittedStateVersion > 0 || i.Epoch > 1 || i.Loaded,
                i.Loaded));
        var uncounted = new HashSet<string>(StringComparer.Ordinal);
        var failures = StartCheck.Failed(checkedStarts, ConfirmTimeout);
        _failedLogged.IntersectWith(failures.Select(f => f.InstanceId));
        foreach (var failed in failures)
        {
            var function = functionOf[failed.InstanceId];
            if (failed.Action == StartFailureAction.Remove)
            {
                Remove(function, failed.InstanceId, failed.NodeId, failed.Reason, null);
            }
            else
            {
                uncounted.Add(failed.InstanceId);
            }

            _penalties.Penalise(failed.NodeId);
            if (_failedLogged.Add(failed.InstanceId))
            {
                Log.StartFailed(_logger, function, failed.InstanceId, failed.NodeId, failed.Reason, (int)NodePenalties.Duration.TotalSeconds);
            }
        }

        var instances = _instances.Snapshot();

        // After an aggregator restart the GPU of an instance is known from its node's report only.
        foreach (var instance in instances)
        {
            if (instance.ReportedGpuUuid is { } reported && names.Contains(instance.Function))
            {
                _gpuOf.TryAdd(instance.InstanceId, reported);
            }
        }

        var snapshot = ScalingInputs.Build(
            autoscaled,
            nodes,
            instances,
            awaited,
            uncounted,
            name => _stats.For(WorkloadKind.Function, name),
            _gatewayLoad.Held,
            _health.Current,
            _penalties.Current(),
            _gpuOf,
            _scalingPrevious,
            elapsed,
            _options);
        var result = Autoscaler.Decide(snapshot);
        _scalingPrevious = result.Previous;
        var desired = result.Decisions.ToDictionary(d => d.Function, d => d.Desired, StringComparer.Ordinal);
        var current = snapshot.Instances.CountBy(i => i.Function, StringComparer.Ordinal).ToDictionary(StringComparer.Ordinal);
        foreach (var function in autoscaled)
        {
            // No decision: the function is at its desired count.
            _desired[function.Name] = desired.TryGetValue(function.Name, out var d) ? d : current.GetValueOrDefault(function.Name);
        }

        foreach (var gone in _desired.Keys.Where(k => !names.Contains(k)).ToArray())
        {
            _desired.TryRemove(gone, out _);
        }

        var byId = instances.ToDictionary(i => i.InstanceId, StringComparer.Ordinal);
        var definitionOf = autoscaled.ToDictionary(f => f.Name, StringComparer.Ordinal);

        // Forget the GPUs of instances that are gone (deleted functions, instances stopped), before this pass starts new ones.
        foreach (var gone in _gpuOf.Keys.Where(id => !byId.ContainsKey(id)).ToArray())
        {
            _gpuOf.TryRemove(gone, out _);
        }

        foreach (var decision in result.Decisions)
        {
            var record = decision.Changed || (decision.Shortfall > 0 && _shortfallRecorded.GetValueOrDefault(decision.Function) != decision.Shortfall);
            if (decision.Shortfall > 0)
            {
                _shortfallRecorded[decision.Function] = decision.Shortfall;
            }
            else
            {
                _shortfallRecorded.Remove(decision.Function);
            }

            if (record)
            {
                _actuator.RecordScaling(decision.Function, ScalingRecords.Reason(decision), ScalingRecords.Outcome(decision), ScalingRecords.Inputs(decision));
            }
        }

        // Instances on lost (or unknown) nodes, and failed starts that may hold state: the starts below resume them.
        var stranded = instances
            .Where(i => names.Contains(i.Function) && (!live.Contains(i.AssignedNodeId) || uncounted.Contains(i.InstanceId)))
            .Select(i => new StrandedInstance(i.InstanceId, i.Function, i.AssignedNodeId, i.AssignedAt));
        var plan = Resumption.Plan(stranded, result.Decisions);
        var decisionOf = result.Decisions.ToDictionary(d => d.Function, StringComparer.Ordinal);
        foreach (var (function, start, resumes) in plan.Starts)
        {
            var decision = decisionOf[function];
            var workload = functions[function];
            var reason = $"autoscale: '{function}' wants {decision.Desired} instances and has {decision.Current}; node '{start.NodeId}' GPU '{start.GpuUuid}' ranks {start.Rank}";
            if (resumes is not null)
            {
                // Its GPU first: the spec the move sends names it.
                _gpuOf[resumes.InstanceId] = start.GpuUuid;
                _actuator.Move(workload, resumes.InstanceId, resumes.NodeId, start.NodeId,
                    $"{reason}; {Stranded(resumes)}, so the instance resumes there", cancellationToken);
                continue;
            }

            var id = _actuator.StartNew(workload, start.NodeId, clusterOf[start.NodeId], reason, cancellationToken, start.GpuUuid);
            _gpuOf[id] = start.GpuUuid;
        }

        HashSet<string>? eligibleNodes = null;
        foreach (var decision in result.Decisions)
        {
            foreach (var stop in decision.Stops)
            {
                // Drain first: the instance finishes what it serves before its process stops.
                var drain = TimeSpan.FromMilliseconds(definitionOf[decision.Function].TimeoutMs);
                eligibleNodes ??= snapshot.Nodes.Where(n => n.Eligible).Select(n => n.NodeId).ToHashSet(StringComparer.Ordinal);
                var eligible = eligibleNodes.Contains(stop.NodeId) ? "eligible" : "not eligible";
                var reason = $"autoscale: '{decision.Function}' wants {decision.Desired} instances and has {decision.Current}; node '{stop.NodeId}' ({eligible}) GPU '{stop.GpuUuid ?? "unknown"}' ranks worst ({stop.InFlight} in flight when chosen)";
                Remove(decision.Function, stop.InstanceId, stop.NodeId, reason, drain);
            }
        }

        // Stranded instances no start took, of functions that have the instances they want without
        // them: let go (a stop reaches the node should it come back in time).
        foreach (var surplus in plan.LetGo)
        {
            Remove(surplus.Function, surplus.InstanceId, surplus.NodeId,
                $"autoscale: {Stranded(surplus)} and '{surplus.Function}' has the {_desired.GetValueOrDefault(surplus.Function)} instances it wants without this one", null);
        }

        // Why a stranded instance counts for nothing where it is.
        string Stranded(StrandedInstance s) => uncounted.Contains(s.InstanceId)
            ? $"the start of instance '{s.InstanceId}' failed on node '{s.NodeId}'"
            : $"node '{s.NodeId}' is lost";

        return removed;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    Reconcile(stoppingToken);
                }
                catch (Exception ex) when (ex is IOException or InvalidOperationException or Microsoft.Data.Sqlite.SqliteException)
                {
                    // One failed pass (a store hiccup, a closed stream) must not stop placement for good.
                    Log.PassFailed(_logger, ex.Message);
                }

                await _trigger.WaitAsync(_options.MonitorPeriod, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Follow-up on the snapshot placement decided on: the decision in Drover.Decisions, the effects through the actuator.</summary>
    private void FollowUp(Dictionary<string, Workload> functions, IReadOnlyList<NodeView> nodes, IReadOnlyList<InstanceView> instances, CancellationToken cancellationToken)
    {
        var now = _time.GetTimestamp();
        var staleCopies = _instances.StaleCopies();
        var pending = _instances.PendingStops();

        // The memory of last sends covers what is still followed up, nothing that went.
        var followed = instances.Select(i => i.InstanceId)
            .Concat(staleCopies.Select(c => $"stale:{c.InstanceId}:{c.NodeId}"))
            .Concat(pending.Select(s => $"stop:{s.InstanceId}"))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _lastSent.Keys.Where(k => !followed.Contains(k)).ToArray())
        {
            _lastSent.Remove(gone);
        }

        TimeSpan? Since(string key) => _lastSent.TryGetValue(key, out var at) ? _time.GetElapsedTime(at, now) : null;
        var snapshot = new FollowUpSnapshot(
            instances.Select(i => new FollowUpInstance(
                i.InstanceId,
                i.Function,
                i.AssignedNodeId,
                i.ReportedNodeId is not null,
                i.Version,
                _time.GetElapsedTime(i.AssignedAt, now),
                Since(i.InstanceId))).ToArray(),
            staleCopies.Select(c => new FollowUpStaleCopy(c.InstanceId, c.NodeId, c.Function, Since($"stale:{c.InstanceId}:{c.NodeId}"))).ToArray(),
            pending.Select(s => new FollowUpPendingStop(s.InstanceId, s.NodeId, s.Function, s.DeleteState, Since($"stop:{s.InstanceId}"))).ToArray(),
            functions.ToDictionary(f => f.Key, f => f.Value.Version, StringComparer.Ordinal),
            nodes.Where(n => n.Connected && n.Survival != NodeSurvival.Lost).Select(n => n.NodeId).ToHashSet(StringComparer.Ordinal),
            ConfirmTimeout);

        var byId = instances.ToDictionary(i => i.InstanceId, StringComparer.Ordinal);
        var stopOf = pending.ToDictionary(s => s.InstanceId, StringComparer.Ordinal);
        foreach (var action in InstanceFollowUp.Decide(snapshot))
        {
            switch (action.Kind)
            {
                case FollowUpKind.StopStaleCopy:
                    _lastSent[$"stale:{action.InstanceId}:{action.NodeId}"] = now;
                    _actuator.StopStaleCopy(action.Function, action.InstanceId, action.NodeId, action.Reason, cancellationToken);
                    break;
                case FollowUpKind.StopDeleted:
                    StopForGood(action.Function, action.InstanceId, action.NodeId, action.Reason, _services.DrainFor(action.Function), cancellationToken);
                    break;
                case FollowUpKind.ResendStop:
                    _lastSent[$"stop:{action.InstanceId}"] = now;
                    _actuator.ResendStop(stopOf[action.InstanceId], action.Reason, cancellationToken);
                    break;
                case FollowUpKind.Resend:
                    _lastSent[action.InstanceId] = now;
                    _actuator.Resend(functions[action.Function], byId[action.InstanceId], cancellationToken);
                    break;
            }
        }
    }

    /// <summary>
    /// Stops an instance for good, its state deleted (<see cref="InstanceActuator.StopForGood"/>), and
    /// notes the send: follow-up sends the pending stop again only once a confirm timeout has passed
    /// without the node's answer, not in the same pass.
    /// </summary>
    private void StopForGood(string function, string instanceId, string nodeId, string reason, TimeSpan? drain, CancellationToken cancellationToken)
    {
        _lastSent[$"stop:{instanceId}"] = _time.GetTimestamp();
        _actuator.StopForGood(function, instanceId, nodeId, deleteState: true, reason, drain, cancellationToken);
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
