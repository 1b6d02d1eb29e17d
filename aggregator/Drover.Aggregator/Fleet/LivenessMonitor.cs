using Drover.Aggregator.Configuration;
using Drover.Aggregator.Link;
using Drover.Decisions.Liveness;

namespace Drover.Aggregator.Fleet;

/// <summary>
/// Takes a snapshot of the node table, asks <see cref="NodeLiveness"/> which nodes are lost, and
/// marks them. Wakes at the earliest lease expiry (at most one monitoring period apart), so a
/// silent node is lost as soon as its lease runs out. A lost node's stream, if still open, is aborted:
/// a stream that carries no heartbeats is half-open or stuck, and the agent reconnects on a new one.
/// </summary>
internal sealed partial class LivenessMonitor : BackgroundService
{
    private readonly NodeTable _nodes;
    private readonly AgentConnections _connections;
    private readonly AggregatorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<LivenessMonitor> _logger;
    private long _lastEvaluation = -1;

    public LivenessMonitor(NodeTable nodes, AgentConnections connections, AggregatorOptions options, TimeProvider time, ILogger<LivenessMonitor> logger)
    {
        _nodes = nodes;
        _connections = connections;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>Raised after an evaluation that declared at least one node lost.</summary>
    public event Action? NodeLost;

    /// <summary>How long ago the last evaluation ran, or null before the first.</summary>
    public TimeSpan? SinceLastEvaluation
    {
        get
        {
            var last = Interlocked.Read(ref _lastEvaluation);
            return last < 0 ? null : _time.GetElapsedTime(last);
        }
    }

    /// <summary>One evaluation: marks the lost nodes and returns how long to wait before the next.</summary>
    public TimeSpan Evaluate()
    {
        Interlocked.Exchange(ref _lastEvaluation, _time.GetTimestamp());
        var snapshot = _nodes.Snapshot();
        var live = new List<TimeSpan>(snapshot.Count);
        var anyLost = false;
        foreach (var node in snapshot)
        {
            if (node.Survival == NodeSurvival.Lost)
            {
                continue;
            }

            if (NodeLiveness.IsLost(node.SinceLastHeartbeat, _options.HeartbeatInterval, _options.MissedHeartbeats))
            {
                if (_nodes.MarkLost(node.NodeId, node.LastHeartbeatTimestamp))
                {
                    anyLost = true;
                    Log.NodeLost(_logger, node.NodeId, node.Identity.Cluster, node.Identity.ServerNumber, _options.MissedHeartbeats, (long)node.SinceLastHeartbeat.TotalMilliseconds);
                    _connections.Abort(node.NodeId, $"it missed {_options.MissedHeartbeats} heartbeats and was marked lost");
                }
            }
            else
            {
                live.Add(node.SinceLastHeartbeat);
            }
        }

        if (anyLost)
        {
            NodeLost?.Invoke();
        }

        return NodeLiveness.NextCheckIn(live, _options.HeartbeatInterval, _options.MissedHeartbeats, _options.MonitorPeriod);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A lease that ends within a millisecond or two is checked once, not in a spin.
        var minimumWait = TimeSpan.FromMilliseconds(5);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var wait = Evaluate();
                await Task.Delay(wait < minimumWait ? minimumWait : wait, _time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1101, EventName = "NodeLost", Level = LogLevel.Warning,
            Message = "Node '{NodeId}' (cluster '{Cluster}', server number {ServerNumber}) missed {Count} heartbeats and is now lost; last heard {AgeMs} ms ago.")]
        public static partial void NodeLost(ILogger logger, string nodeId, string cluster, int serverNumber, int count, long ageMs);
    }
}
