using Drover.Aggregator.Clusters;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Functions;
using Drover.Aggregator.Services;
using Drover.Decisions.Health;
using Drover.Decisions.Placement;

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
    private readonly PassTrigger _trigger = new();
    private readonly HashSet<string> _shortfallsLogged = new(StringComparer.Ordinal);

    public InstanceReconciler(NodeTable nodes, InstanceTable instances, FunctionRegistry functions, ServiceController services, InstanceActuator actuator, ClusterHealthMonitor health, AggregatorOptions options, TimeProvider time, ILogger<InstanceReconciler> logger)
    {
        _health = health;
        _services = services;
        _nodes = nodes;
        _instances = instances;
        _functions = functions;
        _actuator = actuator;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>Asks for a pass now (a function changed, a node was lost) rather than at the next period.</summary>
    public void Wake() => _trigger.Wake();

    /// <summary>One pass: decide on a snapshot, then act.</summary>
    public async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var nodes = _nodes.Snapshot();
        var instances = _instances.Snapshot();

        // Services first: a rollout step changes which sets placement keeps below.
        _services.Reconcile(nodes, instances);
        var functions = _functions.All
            .Select(Workload.Of)
            .Concat(_services.Workloads())
            .ToDictionary(w => w.Key, StringComparer.Ordinal);
        var snapshot = new PlacementSnapshot(
            nodes.Select(n => new PlacementNode(n.NodeId, n.Identity.Cluster, n.Identity.ServerNumber, n.Survives(_options), n.Survival == NodeSurvival.Lost)).ToArray(),
            functions.Values.Select(w => new PlacementFunction(w.Key, w.Instances)).ToArray(),
            instances.Where(i => functions.ContainsKey(i.Function)).Select(i => new PlacementInstance(i.InstanceId, i.Function, i.AssignedNodeId, i.HomeCluster)).ToArray(),
            Backups(_health.Current));
        var clusterOf = nodes.ToDictionary(n => n.NodeId, n => n.Identity.Cluster, StringComparer.Ordinal);

        var actions = InstancePlacement.Decide(snapshot);
        _shortfallsLogged.IntersectWith(actions.Where(a => a.Kind == PlacementActionKind.Shortfall).Select(a => a.InstanceId ?? a.Function));
        foreach (var action in actions)
        {
            var function = functions[action.Function];
            switch (action.Kind)
            {
                case PlacementActionKind.Start:
                    await _actuator.StartNewAsync(function, action.ToNodeId!, clusterOf[action.ToNodeId!], action.Reason, cancellationToken);
                    break;
                case PlacementActionKind.Move:
                    await _actuator.MoveAsync(function, action.InstanceId!, action.FromNodeId!, action.ToNodeId!, action.Reason, cancellationToken);
                    break;
                case PlacementActionKind.Remove:
                    if (!_services.MayStop(function.Key, action.InstanceId!))
                    {
                        break; // Out of the routes first; stopped once every node applied that.
                    }

                    await _actuator.StopAsync(function.Key, action.InstanceId!, action.FromNodeId!, deleteState: true, action.Reason, function.DrainTimeout, cancellationToken);
                    _instances.Remove(action.InstanceId!);
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

        await FollowUpAsync(functions, nodes, instances, cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await ReconcileAsync(stoppingToken);
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

    /// <summary>
    /// From the health decision: each cluster that cannot serve now, with the clusters taking its
    /// traffic, the largest share first (with no named taker, every cluster that has a share).
    /// </summary>
    private static Dictionary<string, IReadOnlyList<string>>? Backups(HealthDecision? decision)
    {
        if (decision is null)
        {
            return null;
        }

        var shares = decision.Shares.ToDictionary(s => s.Cluster, s => s.Share, StringComparer.Ordinal);
        var byShare = decision.Shares.OrderByDescending(s => s.Share).ThenBy(s => s.Cluster, StringComparer.Ordinal).Select(s => s.Cluster).ToArray();
        return decision.Clusters
            .Where(c => c.Health != ClusterHealthState.Healthy)
            .ToDictionary(
                c => c.Name,
                c => (IReadOnlyList<string>)(c.ServedBy.Count > 0
                    ? c.ServedBy.OrderByDescending(b => shares.GetValueOrDefault(b)).ThenBy(b => b, StringComparer.Ordinal).ToArray()
                    : byShare.Where(b => b != c.Name).ToArray()),
                StringComparer.Ordinal);
    }

    /// <summary>Follow-up on the snapshot placement decided on: the decision in Drover.Decisions, the effects through the actuator.</summary>
    private async Task FollowUpAsync(Dictionary<string, Workload> functions, IReadOnlyList<NodeView> nodes, IReadOnlyList<InstanceView> instances, CancellationToken cancellationToken)
    {
        var now = _time.GetTimestamp();
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
            _instances.StaleCopies().Select(c => new FollowUpStaleCopy(c.InstanceId, c.NodeId, c.Function, Since($"stale:{c.InstanceId}:{c.NodeId}"))).ToArray(),
            functions.ToDictionary(f => f.Key, f => f.Value.Version, StringComparer.Ordinal),
            nodes.Where(n => n.Connected && n.Survival != NodeSurvival.Lost).Select(n => n.NodeId).ToHashSet(StringComparer.Ordinal),
            ConfirmTimeout);

        var byId = instances.ToDictionary(i => i.InstanceId, StringComparer.Ordinal);
        foreach (var action in InstanceFollowUp.Decide(snapshot))
        {
            switch (action.Kind)
            {
                case FollowUpKind.StopStaleCopy:
                    _lastSent[$"stale:{action.InstanceId}:{action.NodeId}"] = now;
                    await _actuator.StopAsync(action.Function, action.InstanceId, action.NodeId, deleteState: false, action.Reason, null, cancellationToken);
                    break;
                case FollowUpKind.StopDeleted:
                    await _actuator.StopAsync(action.Function, action.InstanceId, action.NodeId, deleteState: true, action.Reason, _services.DrainFor(action.Function), cancellationToken);
                    break;
                case FollowUpKind.Forget:
                    _instances.Remove(action.InstanceId);
                    _lastSent.Remove(action.InstanceId);
                    break;
                case FollowUpKind.Resend:
                    _lastSent[action.InstanceId] = now;
                    await _actuator.ResendAsync(functions[action.Function], byId[action.InstanceId], cancellationToken);
                    break;
            }
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
    }
}
