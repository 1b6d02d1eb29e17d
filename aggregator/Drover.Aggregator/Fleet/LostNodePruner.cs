using Drover.Aggregator.Configuration;

namespace Drover.Aggregator.Fleet;

/// <summary>
/// Forgets the rows of nodes lost for longer than <c>lostNodeRetentionSeconds</c> that no instance
/// is assigned to (<see cref="NodeRetention"/>), with their stale-copy records, every
/// <see cref="Period"/> on the injected clock. Unlike <c>DELETE /v1/nodes/{id}</c> it keeps the
/// node's weight and priority override: a node that comes back after a long outage keeps what an
/// operator set for it.
/// </summary>
internal sealed partial class LostNodePruner : BackgroundService
{
    private readonly NodeTable _nodes;
    private readonly InstanceTable _instances;
    private readonly TimeProvider _time;
    private readonly TimeSpan _retention;
    private readonly ILogger<LostNodePruner> _logger;

    public LostNodePruner(NodeTable nodes, InstanceTable instances, TimeProvider time, AggregatorOptions options, ILogger<LostNodePruner> logger)
    {
        _nodes = nodes;
        _instances = instances;
        _time = time;
        _retention = options.LostNodeRetention;
        _logger = logger;
    }

    /// <summary>A quarter of the retention, at most a minute: a row outlives its retention by no more than that.</summary>
    public TimeSpan Period => TimeSpan.FromTicks(Math.Min(_retention.Ticks / 4, TimeSpan.TicksPerMinute));

    /// <summary>One pass; returns the nodes forgotten.</summary>
    public IReadOnlyList<string> Prune()
    {
        var forgotten = new List<string>();
        foreach (var node in NodeRetention.ToForget(_nodes.Snapshot(), _instances.Snapshot(), _retention))
        {
            // Checked again at the table: a heartbeat since the snapshot (the node came back) keeps it,
            // and an instance assigned since keeps it too.
            if (_instances.HasInstancesOn(node.NodeId) || !_nodes.ForgetLost(node.NodeId, node.LastHeartbeatTimestamp))
            {
                continue;
            }

            var copies = _instances.ForgetStaleCopiesOn(node.NodeId);
            Log.NodeForgotten(_logger, node.NodeId, node.Identity.Cluster, node.Identity.ServerNumber, (long)node.SinceLastHeartbeat.TotalSeconds, copies);
            forgotten.Add(node.NodeId);
        }

        return forgotten;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(Period, _time, stoppingToken);
                Prune();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1015, EventName = "LostNodeForgotten", Level = LogLevel.Information,
            Message = "Forgot node '{NodeId}' (cluster '{Cluster}', server number {ServerNumber}): lost with no heartbeat for {SilentSeconds} s and no instance assigned; {StaleCopies} stale-copy records and pending stops went with it.")]
        public static partial void NodeForgotten(ILogger logger, string nodeId, string cluster, int serverNumber, long silentSeconds, int staleCopies);
    }
}
