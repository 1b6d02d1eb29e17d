using Drover.Aggregator.Balancers;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.Events;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Leadership;
using Drover.Aggregator.Placement;
using Drover.Aggregator.State;
using Drover.Aggregator.Workloads;
using Drover.Decisions.Health;
using Drover.Decisions.Liveness;
using Drover.Decisions.Routing;
using Drover.Gateway;
using Drover.Protocol.Events;
using Drover.Protocol.V1;
using Google.Protobuf.WellKnownTypes;

namespace Drover.Aggregator.Clusters;

/// <summary>
/// Every monitoring period, and at once when a node connects, disconnects, is lost or misses its
/// probes: a snapshot of nodes, clusters and instances; the health decision
/// (<see cref="ClusterHealth"/>, pure); then its effects: transitions logged, published on
/// <c>cluster/&lt;name&gt;</c> and kept in each cluster's history, and the gateway's routing table replaced.
/// </summary>
/// <remarks>
/// <para>
/// With a store (<see cref="IDecisionMemoryStore"/>), the decision's memory (each cluster's last state,
/// which failback's hysteresis carries) and the histories are loaded at start and saved after the
/// evaluation that changed them, outside the lock the API reads under. A restarted aggregator so goes
/// on where it stopped: a recovering cluster stays recovering until it has waited out its failback,
/// rather than being seen for the first time and healthy at once.
/// </para>
/// <para>
/// The time the aggregator was down does not count towards a recovery (nobody saw the cluster then):
/// the first evaluation after a start adds none. A recovery's progress is saved every
/// <see cref="SaveStep"/>, states at once, so a restart may lengthen a recovery by up to that step,
/// never shorten it. A healthy cluster's growing healthy time is not saved (it decides nothing).
/// </para>
/// <para>
/// While the nodes come back after a restart (<c>restartGraceMs</c>, at least a lease, as for the
/// instances), a cluster with a loaded state none of whose nodes is known yet is not judged by their
/// absence (<see cref="RestartGrace"/>): it shows as seen for the first time (unhealthy when configured,
/// since it has no node to serve with), no transition is recorded, and its loaded state is kept until
/// a node of it is back, from which its hysteresis goes on. After the grace it is judged like any.
/// </para>
/// </remarks>
internal sealed partial class ClusterHealthMonitor : BackgroundService
{
    private readonly NodeTable _nodes;
    private readonly InstanceTable _instances;
    private readonly ClusterRegistry _clusters;
    private readonly EventHub _events;
    private readonly GatewayRoutingTable _routes;
    private readonly AggregatorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ClusterHealthMonitor> _logger;
    private readonly PassTrigger _trigger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, LinkedList<ClusterHistoryEntry>> _history = new(StringComparer.Ordinal);
    private Dictionary<string, PreviousClusterHealth> _previous = new(StringComparer.Ordinal);
    private HealthDecision? _current;
    private long _lastEvaluation = -1;

    // The store and what it last got; the clusters whose loaded state is still held aside (see the remarks).
    private readonly IDecisionMemoryStore? _memory;
    private IReadOnlyDictionary<string, PreviousClusterHealth> _kept;
    private HashSet<string> _loaded;
    private readonly long _startedAt;

    /// <summary>Serialises the evaluations with their saves, so saves land in the order of the evaluations.</summary>
    private readonly Lock _saveGate = new();

    // Callers waiting for an evaluation that starts after they asked (the API, after changing a setting).
    private readonly List<(long Ticket, TaskCompletionSource<HealthDecision> Done)> _waiting = [];
    private long _asked;
    private long _routesVersion;

    private readonly GatewayWeights? _weights;
    private RoutingTable? _inherited;

    public ClusterHealthMonitor(NodeTable nodes, InstanceTable instances, ClusterRegistry clusters, EventHub events, GatewayRoutingTable routes, AggregatorOptions options, TimeProvider time, ILogger<ClusterHealthMonitor> logger, IDecisionMemoryStore? memory = null, GatewayWeights? weights = null, LeaderStart? leader = null)
    {
        // A new leader: the table the last one published, served until this one's covers it (RoutingHandover).
        _inherited = leader?.Inherited;
        // The node weights of the workloads whose load-balancing tables are coordinated; null: none.
        _weights = weights;
        _nodes = nodes;
        _instances = instances;
        _clusters = clusters;
        _events = events;
        _routes = routes;
        _options = options;
        _time = time;
        _trigger = new PassTrigger(time);
        _logger = logger;
        // Where the health states and histories are kept across restarts, loaded here; null: memory only.
        _memory = memory;
        _startedAt = time.GetTimestamp();
        if (memory is not null)
        {
            _previous = new Dictionary<string, PreviousClusterHealth>(memory.LoadClusterHealth(), StringComparer.Ordinal);
            foreach (var (cluster, entries) in memory.LoadClusterHistory(options.ClusterHistory))
            {
                _history[cluster] = new LinkedList<ClusterHistoryEntry>(entries);
            }
        }

        _kept = new Dictionary<string, PreviousClusterHealth>(_previous, StringComparer.Ordinal);
        _loaded = _previous.Keys.ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>How far a recovery may progress past what is kept before it is kept again.</summary>
    public static readonly TimeSpan SaveStep = TimeSpan.FromSeconds(5);

    /// <summary>Raised after an evaluation with at least one transition: tasks may have to move.</summary>
    public event Action? Transitioned;

    /// <summary>The latest decision; null before the first evaluation.</summary>
    public HealthDecision? Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>Asks for an evaluation now rather than at the next period; wakes arriving before it runs make one evaluation.</summary>
    public void Wake() => _trigger.Wake();

    /// <summary>A cluster's transitions, oldest first; null for a cluster never evaluated.</summary>
    public IReadOnlyList<ClusterHistoryEntry>? History(string cluster)
    {
        lock (_gate)
        {
            return _history.TryGetValue(cluster, out var entries) ? entries.ToArray()
                : _current?.Clusters.Any(c => c.Name == cluster) == true ? [] : null;
        }
    }

    /// <summary>One evaluation: decide on a snapshot, then publish the transitions and the routing table.</summary>
    public HealthDecision Evaluate()
    {
        HealthDecision decision;
        List<TaskCompletionSource<HealthDecision>> answered = [];
        lock (_saveGate)
        {
            List<(string Cluster, ClusterHistoryEntry Entry)> recorded;
            IReadOnlyDictionary<string, PreviousClusterHealth> previous;
            lock (_gate)
            {
                var now = _time.GetTimestamp();

                // Every caller that asked before this snapshot is taken sees its change in this decision.
                var covers = _asked;
                (decision, var healthNodes, var held) = Decide(now);
                _lastEvaluation = now;
                var next = decision.Clusters.ToDictionary(c => c.Name, c => new PreviousClusterHealth(c.Health, c.HealthyFor), StringComparer.Ordinal);
                foreach (var cluster in held)
                {
                    next[cluster] = _previous[cluster];
                }

                _previous = next;
                _loaded = held;
                previous = next;
                _current = decision;
                recorded = Record(decision);

                // Under the lock: evaluations never swap tables out of order.
                var table = RouteChoice.Build(++_routesVersion, decision, healthNodes, Hosts(), _weights?.Current);
                if (_inherited is not null && !RoutingHandover.Holds(_inherited, table, _time.GetElapsedTime(_startedAt, now), RestartGrace.Of(_options.RestartGrace, NodeLiveness.Lease(_options.HeartbeatInterval, _options.MissedHeartbeats))))
                {
                    _inherited = null;
                }

                if (_inherited is null)
                {
                    _routes.Update(table);
                }
                answered.AddRange(_waiting.Where(w => w.Ticket <= covers).Select(w => w.Done));
                _waiting.RemoveAll(w => w.Ticket <= covers);
            }

            // Outside the lock the API and the reconciler read under: a save may wait behind a snapshot
            // being committed. A failed save is logged by the store and the evaluation stands.
            if (_memory is not null)
            {
                _memory.AppendClusterHistory(recorded, _options.ClusterHistory);
                if (WorthSaving(_kept, previous, SaveStep))
                {
                    _memory.SaveClusterHealth(previous);
                    _kept = previous;
                }
            }
        }

        foreach (var done in answered)
        {
            done.TrySetResult(decision);
        }

        if (decision.Transitions.Count > 0)
        {
            Transitioned?.Invoke();
        }

        return decision;
    }

    /// <summary>
    /// Wakes the loop and completes with the first decision it takes after this call: what a setting
    /// changed just before leads to, acted on. The caller waits on this process's loop, never on a node.
    /// </summary>
    public Task<HealthDecision> NextEvaluationAsync()
    {
        var done = new TaskCompletionSource<HealthDecision>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _waiting.Add((++_asked, done));
        }

        Wake();
        return done.Task;
    }

    /// <summary>
    /// What an evaluation would decide now, with no effect: no history, no events, no routing table,
    /// and the loop's memory untouched. The API answers with it; acting on a change is the loop's (woken by the change).
    /// </summary>
    public HealthDecision Preview()
    {
        lock (_gate)
        {
            return Decide(_time.GetTimestamp()).Decision;
        }
    }

    /// <summary>
    /// Whether <paramref name="next"/> should replace the kept <paramref name="kept"/>: a cluster came or
    /// went, changed state, or its recovery went back or progressed by <paramref name="step"/> or more.
    /// A healthy cluster's healthy time is left to grow unsaved.
    /// </summary>
    internal static bool WorthSaving(IReadOnlyDictionary<string, PreviousClusterHealth> kept, IReadOnlyDictionary<string, PreviousClusterHealth> next, TimeSpan step)
    {
        if (kept.Count != next.Count)
        {
            return true;
        }

        foreach (var (cluster, state) in next)
        {
            if (!kept.TryGetValue(cluster, out var before) || before.Health != state.Health)
            {
                return true;
            }

            if (state.Health == ClusterHealthState.Recovering && (state.HealthyFor < before.HealthyFor || state.HealthyFor - before.HealthyFor >= step))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A node as the health decision sees it.</summary>
    internal static HealthNode HealthNodeOf(NodeView node, AggregatorOptions options) =>
        new(node.NodeId, node.Identity.Cluster, node.Identity.ServerNumber, node.Survives(options), node.Weight, node.Priority, node.Identity.ShimEndpoint);

    /// <summary>
    /// The pure decision on a snapshot taken now, from the memory the last evaluation left, less the
    /// clusters held aside, which it returns (caller holds the gate).
    /// </summary>
    private (HealthDecision Decision, HealthNode[] Nodes, HashSet<string> Held) Decide(long now)
    {
        var nodes = _nodes.Snapshot();
        var healthNodes = nodes.Select(n => HealthNodeOf(n, _options)).ToArray();
        var elapsed = _lastEvaluation < 0 ? TimeSpan.Zero : _time.GetElapsedTime(_lastEvaluation, now);
        var lease = NodeLiveness.Lease(_options.HeartbeatInterval, _options.MissedHeartbeats);
        var held = RestartGrace.Awaited(
            _loaded,
            healthNodes.Select(n => n.Cluster),
            _time.GetElapsedTime(_startedAt, now),
            RestartGrace.Of(_options.RestartGrace, lease));
        var previous = held.Count == 0 ? _previous : _previous.Where(p => !held.Contains(p.Key)).ToDictionary(StringComparer.Ordinal);
        var decision = ClusterHealth.Decide(new HealthSnapshot(
            _clusters.Settings(nodes.Select(n => n.Identity.Cluster)),
            healthNodes,
            _clusters.Modes(),
            previous,
            elapsed,
            _options.FailbackAfter,
            _options.FailOpen));
        return (decision, healthNodes, held);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                Evaluate();
                await _trigger.WaitAsync(_options.MonitorPeriod, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Per gateway workload (a function's name, <c>service/&lt;name&gt;</c>), the nodes running a ready instance of it where it is assigned.</summary>
    private Dictionary<string, IReadOnlySet<string>> Hosts()
    {
        var hosts = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var instance in _instances.Snapshot())
        {
            if (!Routable.IsRoutable(instance.Ready, instance.ReportedNodeId, instance.AssignedNodeId))
            {
                continue;
            }

            var key = WorkloadKeys.ServiceOf(instance.Function) is { } service ? EventChannels.Service(service) : instance.Function;
            if (!hosts.TryGetValue(key, out var set))
            {
                hosts[key] = set = new HashSet<string>(StringComparer.Ordinal);
            }

            set.Add(instance.AssignedNodeId);
        }

        return hosts.ToDictionary(h => h.Key, h => (IReadOnlySet<string>)h.Value, StringComparer.Ordinal);
    }

    /// <summary>Logs, keeps and publishes the decision's transitions; returns the history entries it added, to be saved.</summary>
    private List<(string Cluster, ClusterHistoryEntry Entry)> Record(HealthDecision decision)
    {
        var recorded = new List<(string Cluster, ClusterHistoryEntry Entry)>();
        var at = _time.GetUtcNow();
        var byName = decision.Clusters.ToDictionary(c => c.Name, StringComparer.Ordinal);
        foreach (var transition in decision.Transitions)
        {
            var status = byName[transition.Cluster];
            var entry = new ClusterHistoryEntry(
                at,
                ClusterDefaults.HealthName(transition.From),
                ClusterDefaults.HealthName(transition.To),
                transition.Survivors,
                transition.MinSurvivors,
                status.Total,
                status.ServedBy,
                transition.Reason);
            if (!_history.TryGetValue(transition.Cluster, out var entries))
            {
                _history[transition.Cluster] = entries = new LinkedList<ClusterHistoryEntry>();
            }

            entries.AddLast(entry);
            recorded.Add((transition.Cluster, entry));
            while (entries.Count > _options.ClusterHistory)
            {
                entries.RemoveFirst();
            }

            var clusterEvent = new ClusterHealthEvent
            {
                Cluster = transition.Cluster,
                From = entry.From,
                To = entry.To,
                Survivors = (uint)entry.Survivors,
                MinSurvivors = (uint)entry.MinSurvivors,
                Total = (uint)entry.Total,
                Reason = entry.Reason,
                At = Timestamp.FromDateTimeOffset(at),
            };
            clusterEvent.ServedBy.AddRange(entry.ServedBy);
            _events.Publish(clusterEvent);
            if (transition.To == ClusterHealthState.Unhealthy)
            {
                Log.Unhealthy(_logger, transition.Cluster, entry.From, entry.Survivors, entry.Total, entry.MinSurvivors, string.Join(", ", entry.ServedBy), entry.Reason);
            }
            else
            {
                Log.Changed(_logger, transition.Cluster, entry.From, entry.To, entry.Survivors, entry.Total, entry.MinSurvivors, entry.Reason);
            }
        }

        if (decision.Degraded && decision.Transitions.Count > 0)
        {
            Log.Degraded(_logger, decision.Reason);
        }

        return recorded;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1951, EventName = "ClusterUnhealthy", Level = LogLevel.Warning,
            Message = "Cluster '{Cluster}' went from {From} to unhealthy: {Survivors} of {Total} nodes survive, threshold {MinSurvivors}; its traffic and tasks go to '{ServedBy}'. {Reason}.")]
        public static partial void Unhealthy(ILogger logger, string cluster, string from, int survivors, int total, int minSurvivors, string servedBy, string reason);

        [LoggerMessage(EventId = 1952, EventName = "ClusterHealthChanged", Level = LogLevel.Information,
            Message = "Cluster '{Cluster}' went from {From} to {To}: {Survivors} of {Total} nodes survive, threshold {MinSurvivors}. {Reason}.")]
        public static partial void Changed(ILogger logger, string cluster, string from, string to, int survivors, int total, int minSurvivors, string reason);

        [LoggerMessage(EventId = 1953, EventName = "NoHealthyCluster", Level = LogLevel.Error,
            Message = "No cluster is healthy: {Reason}.")]
        public static partial void Degraded(ILogger logger, string reason);
    }
}
