using Drover.Aggregator.Workloads;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Fleet;

/// <summary>
/// Every instance the aggregator placed or heard of: its assignment (decided here) and its latest
/// report (from the node). After an aggregator restart, assignments are rebuilt from the reports of
/// the nodes that reconnect.
/// </summary>
internal sealed class InstanceTable
{
    private readonly Lock _gate = new();
    /// <summary>The most instances one node may hold in the table through its own reports.</summary>
    public const int MaxInstancesPerNode = 1024;

    /// <summary>How long a stopped instance's reports are ignored when it never reports stopped.</summary>
    public static readonly TimeSpan StoppingMemory = TimeSpan.FromMinutes(10);

    private readonly Dictionary<string, Row> _rows = new(StringComparer.Ordinal);
    private readonly Dictionary<(string InstanceId, string NodeId), string> _staleCopies = [];

    /// <summary>Instances stopped and forgotten, by when: their late reports are not taken for new instances.</summary>
    private readonly Dictionary<string, long> _stopping = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public InstanceTable(TimeProvider time)
    {
        _time = time;
    }

    /// <summary>
    /// Raised (outside the table's lock) when an instance becomes ready where it is assigned, or stops
    /// being so: the gateway's table of hosts follows at once rather than at the next period.
    /// </summary>
    public event Action? ReadinessChanged;

    /// <summary>
    /// Assigns an instance to a node (a new instance, or one moving). A new instance belongs to
    /// <paramref name="homeCluster"/>; a moving one keeps the home it had, so failback knows where it goes back to.
    /// </summary>
    public void Assign(string instanceId, string function, string nodeId, string? homeCluster = null)
    {
        var wasReady = false;
        lock (_gate)
        {
            _stopping.Remove(instanceId);
            if (!_rows.TryGetValue(instanceId, out var row))
            {
                row = new Row(instanceId, function) { HomeCluster = homeCluster };
                _rows[instanceId] = row;
            }

            wasReady = row.Ready;
            row.AssignedNodeId = nodeId;
            row.AssignedAt = _time.GetTimestamp();
            row.ReportedNodeId = null;
            row.ReportedAt = null;
            row.State = "assigned";
            row.Pid = 0;
            row.Port = 0;
            row.Ready = false;
            row.ReportedGpuUuid = null;
        }

        if (wasReady)
        {
            ReadinessChanged?.Invoke();
        }
    }

    /// <summary>
    /// Records a node's report. A report from a node the instance is not assigned to (it moved while
    /// that node was lost) is kept as a stale copy for the reconciler to stop.
    /// </summary>
    public void Record(string nodeId, InstanceReport report)
    {
        if (RecordLocked(nodeId, report))
        {
            ReadinessChanged?.Invoke();
        }
    }

    /// <summary><see cref="Record"/> under the lock; true when the instance's readiness changed.</summary>
    private bool RecordLocked(string nodeId, InstanceReport report)
    {
        lock (_gate)
        {
            if (!_rows.TryGetValue(report.InstanceId, out var row) && _stopping.ContainsKey(report.InstanceId))
            {
                // Stopped by the aggregator and forgotten: it may still report while it drains, and
                // must not come back as an instance to place, until it says it stopped.
                if (report.State == InstanceState.Stopped)
                {
                    _stopping.Remove(report.InstanceId);
                }

                return false;
            }

            if (row is null)
            {
                // An instance the aggregator did not place (it restarted, and the node still runs it)
                // is taken as the node reports it; a node does not get to fill the table at will.
                if (report.State == InstanceState.Stopped || _rows.Values.Count(r => r.AssignedNodeId == nodeId) >= MaxInstancesPerNode)
                {
                    return false;
                }

                var key = report.Kind == WorkloadKind.Service ? WorkloadKeys.ServiceSet(report.Function, report.Version) : report.Function;
                row = new Row(report.InstanceId, key) { AssignedNodeId = nodeId, AssignedAt = _time.GetTimestamp() };
                _rows[report.InstanceId] = row;
            }

            if (row.AssignedNodeId != nodeId)
            {
                if (report.State == InstanceState.Stopped)
                {
                    _staleCopies.Remove((report.InstanceId, nodeId));
                }
                else
                {
                    _staleCopies[(report.InstanceId, nodeId)] = row.Function;
                }

                return false;
            }

            var wasReady = row.Ready;
            row.ReportedNodeId = nodeId;
            row.ReportedAt = _time.GetTimestamp();
            row.Version = report.Version;
            row.State = StateName(report.State);
            row.Pid = report.Pid;
            row.Port = (int)report.Port;
            row.Restarts = (int)report.Restarts;
            row.LastExitCode = report.LastExitCode;
            row.LastSignal = report.LastSignal;
            row.Reason = report.Reason;
            row.Ready = report.Ready && report.State == InstanceState.Running;
            row.ReportedGpuUuid = report.GpuUuids.Count > 0 ? report.GpuUuids[0] : null;
            if (report.StateVersion > row.CommittedStateVersion)
            {
                row.CommittedStateVersion = report.StateVersion;
            }

            return wasReady != row.Ready;
        }
    }

    /// <summary>Copies of instances running on nodes they are no longer assigned to: (instance, node, function).</summary>
    public IReadOnlyList<(string InstanceId, string NodeId, string Function)> StaleCopies()
    {
        lock (_gate)
        {
            return _staleCopies.Select(s => (s.Key.InstanceId, s.Key.NodeId, s.Value)).ToArray();
        }
    }

    /// <summary>Whether any instance is assigned to the node, or last reported from it.</summary>
    public bool HasInstancesOn(string nodeId)
    {
        lock (_gate)
        {
            foreach (var row in _rows.Values)
            {
                if (row.AssignedNodeId == nodeId || row.ReportedNodeId == nodeId)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// Drops the stale-copy records of a node the node table forgot: nothing can be sent to it, and
    /// should it come back, its reports record its copies again. Returns how many went.
    /// </summary>
    public int ForgetStaleCopiesOn(string nodeId)
    {
        lock (_gate)
        {
            var keys = _staleCopies.Keys.Where(k => k.NodeId == nodeId).ToArray();
            foreach (var key in keys)
            {
                _staleCopies.Remove(key);
            }

            return keys.Length;
        }
    }

    /// <summary>The node an instance is assigned to, or null when the instance is unknown.</summary>
    public string? AssignedNode(string instanceId)
    {
        lock (_gate)
        {
            return _rows.TryGetValue(instanceId, out var row) ? row.AssignedNodeId : null;
        }
    }

    /// <summary>Notes a snapshot the store committed.</summary>
    public void StateCommitted(string instanceId, ulong version)
    {
        lock (_gate)
        {
            if (_rows.TryGetValue(instanceId, out var row) && version > row.CommittedStateVersion)
            {
                row.CommittedStateVersion = version;
            }
        }
    }

    /// <summary>
    /// Forgets an instance the aggregator has sent a stop for. Its reports are ignored until it
    /// reports stopped (or for <see cref="StoppingMemory"/>, should that report never come).
    /// </summary>
    public void Remove(string instanceId)
    {
        var wasReady = false;
        lock (_gate)
        {
            if (_rows.Remove(instanceId, out var removed))
            {
                wasReady = removed.Ready;
            }

            var now = _time.GetTimestamp();
            foreach (var expired in _stopping.Where(s => _time.GetElapsedTime(s.Value, now) > StoppingMemory).Select(s => s.Key).ToArray())
            {
                _stopping.Remove(expired);
            }

            _stopping[instanceId] = now;
        }

        if (wasReady)
        {
            ReadinessChanged?.Invoke();
        }
    }

    public IReadOnlyList<InstanceView> Snapshot()
    {
        lock (_gate)
        {
            return _rows.Values
                .OrderBy(r => r.Function, StringComparer.Ordinal)
                .ThenBy(r => r.InstanceId, StringComparer.Ordinal)
                .Select(r => new InstanceView(r.InstanceId, r.Function, r.AssignedNodeId, r.ReportedNodeId, r.State, r.Version, r.Pid, r.Port, r.Restarts, r.LastExitCode, r.LastSignal, r.Reason, r.CommittedStateVersion, r.AssignedAt, r.ReportedAt, r.Ready, r.HomeCluster, r.ReportedGpuUuid))
                .ToArray();
        }
    }

    public static string StateName(InstanceState state) => state switch
    {
        InstanceState.Starting => "starting",
        InstanceState.Running => "running",
        InstanceState.Restarting => "restarting",
        InstanceState.Failed => "failed",
        InstanceState.Stopped => "stopped",
        _ => "unknown",
    };

    private sealed class Row(string instanceId, string function)
    {
        public string InstanceId { get; } = instanceId;

        public string Function { get; } = function;

        public string AssignedNodeId { get; set; } = "";

        public long AssignedAt { get; set; }

        public string? ReportedNodeId { get; set; }

        public long? ReportedAt { get; set; }

        public string State { get; set; } = "assigned";

        public int Pid { get; set; }

        public int Port { get; set; }

        public int Restarts { get; set; }

        public int LastExitCode { get; set; }

        public int LastSignal { get; set; }

        public string Reason { get; set; } = "";

        public string Version { get; set; } = "";

        public ulong CommittedStateVersion { get; set; }

        public bool Ready { get; set; }

        /// <summary>The cluster it was first placed in; null when it was learnt from a report (after a restart).</summary>
        public string? HomeCluster { get; init; }

        /// <summary>The first GPU its node reports it runs on; null before a report or when it has none.</summary>
        public string? ReportedGpuUuid { get; set; }
    }
}
