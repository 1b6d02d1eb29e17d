using Drover.Aggregator.Configuration;
using Drover.Aggregator.Events;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Placement;
using Drover.Aggregator.Workloads;
using Drover.Decisions.Health;
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

    // Callers waiting for an evaluation that starts after they asked (the API, after changing a setting).
    private readonly List<(long Ticket, TaskCompletionSource<HealthDecision> Done)> _waiting = [];
    private long _asked;
    private long _routesVersion;

    public ClusterHealthMonitor(NodeTable nodes, InstanceTable instances, ClusterRegistry clusters, EventHub events, GatewayRoutingTable routes, AggregatorOptions options, TimeProvider time, ILogger<ClusterHealthMonitor> logger)
    {
        _nodes = nodes;
        _instances = instances;
        _clusters = clusters;
        _events = events;
        _routes = routes;
        _options = options;
        _time = time;
        _trigger = new PassTrigger(time);
        _logger = logger;
    }

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
        var now = _time.GetTimestamp();
        HealthDecision decision;
        List<TaskCompletionSource<HealthDecision>> answered = [];
        lock (_gate)
        {
            // Every caller that asked before this snapshot is taken sees its change in this decision.
            var covers = _asked;
            (decision, var healthNodes) = Decide(now);
            _lastEvaluation = now;
            _previous = decision.Clusters.ToDictionary(c => c.Name, c => new PreviousClusterHealth(c.Health, c.HealthyFor), StringComparer.Ordinal);
            _current = decision;
            Record(decision);

            // Under the lock: evaluations never swap tables out of order.
            _routes.Update(RouteChoice.Build(++_routesVersion, decision, healthNodes, Hosts()));
            answered.AddRange(_waiting.Where(w => w.Ticket <= covers).Select(w => w.Done));
            _waiting.RemoveAll(w => w.Ticket <= covers);
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

    /// <summary>The pure decision on a snapshot taken now, from the memory the last evaluation left (caller holds the gate).</summary>
    private (HealthDecision Decision, HealthNode[] Nodes) Decide(long now)
    {
        var nodes = _nodes.Snapshot();
        var healthNodes = nodes
            .Select(n => new HealthNode(n.NodeId, n.Identity.Cluster, n.Identity.ServerNumber, n.Survives(_options), n.Weight, n.Priority, n.Identity.ShimEndpoint))
            .ToArray();
        var elapsed = _lastEvaluation < 0 ? TimeSpan.Zero : _time.GetElapsedTime(_lastEvaluation, now);
        var decision = ClusterHealth.Decide(new HealthSnapshot(
            _clusters.Settings(nodes.Select(n => n.Identity.Cluster)),
            healthNodes,
            _clusters.Modes(),
            _previous,
            elapsed,
            _options.FailbackAfter,
            _options.FailOpen));
        return (decision, healthNodes);
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

    private void Record(HealthDecision decision)
    {
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
