using Drover.Protocol.V1;

namespace Drover.Aggregator.Fleet;

/// <summary>
/// The aggregator's node table: the latest view of every node it has heard from. Ingest (the agent
/// link) writes it; the liveness monitor and the HTTP API read snapshots of it. Every time is read
/// from the injected <see cref="TimeProvider"/>: the aggregator's own clock decides liveness.
/// </summary>
internal sealed class NodeTable
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Row> _rows = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public NodeTable(TimeProvider time)
    {
        _time = time;
    }

    /// <summary>The aggregator's clock now, as a timestamp comparable with those the table keeps.</summary>
    public long Now => _time.GetTimestamp();

    /// <summary>
    /// Accepts a node on a new stream, or refuses it when its server number is held by another live
    /// node of the same cluster. A lost node holding that number gives it up.
    /// </summary>
    public RegistrationResult Register(NodeIdentity identity, Guid connectionId)
    {
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            string? supersededLost = null;
            foreach (var (id, row) in _rows)
            {
                if (id == identity.NodeId
                    || row.Identity.ServerNumber != identity.ServerNumber
                    || !string.Equals(row.Identity.Cluster, identity.Cluster, StringComparison.Ordinal))
                {
                    continue;
                }

                if (row.Survival != NodeSurvival.Lost)
                {
                    return RegistrationResult.Refused(
                        "serverNumber",
                        $"server number {identity.ServerNumber} is already taken in cluster '{identity.Cluster}' by live node '{id}'");
                }

                supersededLost = id;
            }

            if (supersededLost is not null)
            {
                _rows.Remove(supersededLost);
            }

            if (!_rows.TryGetValue(identity.NodeId, out var existing))
            {
                existing = new Row(identity);
                _rows.Add(identity.NodeId, existing);
            }

            existing.Identity = identity;
            existing.ConnectionId = connectionId;
            existing.Gpus = GpuReport.None;
            existing.LastHeartbeat = now;
            existing.Survival = NodeSurvival.Alive;
            return RegistrationResult.Ok;
        }
    }

    /// <summary>
    /// Records a heartbeat. Returns false when the stream is not the node's current one (a stale
    /// stream replaced by a reconnect), in which case nothing changes. Returns whether the node was lost before.
    /// </summary>
    public bool RecordHeartbeat(string nodeId, Guid connectionId, ulong sequence, NodeSurvival survival, out bool wasLost)
    {
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            wasLost = false;
            if (!_rows.TryGetValue(nodeId, out var row) || row.ConnectionId != connectionId)
            {
                return false;
            }

            wasLost = row.Survival == NodeSurvival.Lost;
            row.LastHeartbeat = now;
            row.LastSequence = sequence;
            row.Survival = survival;
            return true;
        }
    }

    /// <summary>Keeps a node's latest GPU report; false when the stream is not the node's current one.</summary>
    public bool RecordTelemetry(string nodeId, Guid connectionId, GpuReport report)
    {
        lock (_gate)
        {
            if (!_rows.TryGetValue(nodeId, out var row) || row.ConnectionId != connectionId)
            {
                return false;
            }

            row.Gpus = report;
            return true;
        }
    }

    /// <summary>Notes that a node's stream ended; its row stays until the lease decides it is lost.</summary>
    public void Disconnected(string nodeId, Guid connectionId)
    {
        lock (_gate)
        {
            if (_rows.TryGetValue(nodeId, out var row) && row.ConnectionId == connectionId)
            {
                row.ConnectionId = null;
            }
        }
    }

    /// <summary>
    /// Marks a node lost, unless a heartbeat arrived after the snapshot the decision was taken on
    /// (<paramref name="observedLastHeartbeat"/> no longer matches). Returns whether it changed.
    /// </summary>
    public bool MarkLost(string nodeId, long observedLastHeartbeat)
    {
        lock (_gate)
        {
            if (!_rows.TryGetValue(nodeId, out var row)
                || row.Survival == NodeSurvival.Lost
                || row.LastHeartbeat != observedLastHeartbeat)
            {
                return false;
            }

            row.Survival = NodeSurvival.Lost;
            return true;
        }
    }

    /// <summary>An immutable copy of every row, ordered by cluster then server number.</summary>
    public IReadOnlyList<NodeView> Snapshot()
    {
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            var views = new List<NodeView>(_rows.Count);
            foreach (var row in _rows.Values)
            {
                views.Add(new NodeView(
                    row.Identity,
                    row.Survival,
                    row.ConnectionId is not null,
                    row.LastHeartbeat,
                    row.LastSequence,
                    _time.GetElapsedTime(row.LastHeartbeat, now),
                    row.Gpus,
                    row.Gpus.ReceivedAt == 0 ? null : _time.GetElapsedTime(row.Gpus.ReceivedAt, now)));
            }

            views.Sort(static (a, b) =>
            {
                var byCluster = string.CompareOrdinal(a.Identity.Cluster, b.Identity.Cluster);
                return byCluster != 0 ? byCluster : a.Identity.ServerNumber.CompareTo(b.Identity.ServerNumber);
            });
            return views;
        }
    }

    /// <summary>Maps the wire's survival state to the table's; unspecified is refused by the link before this.</summary>
    public static NodeSurvival FromWire(SurvivalState state) => state switch
    {
        SurvivalState.Draining => NodeSurvival.Draining,
        SurvivalState.Stopping => NodeSurvival.Stopping,
        _ => NodeSurvival.Alive,
    };

    private sealed class Row(NodeIdentity identity)
    {
        public NodeIdentity Identity { get; set; } = identity;

        public NodeSurvival Survival { get; set; } = NodeSurvival.Alive;

        public Guid? ConnectionId { get; set; }

        public long LastHeartbeat { get; set; }

        public ulong LastSequence { get; set; }

        public GpuReport Gpus { get; set; } = GpuReport.None;
    }
}
