using Drover.Aggregator.State;
using Drover.Aggregator.Workloads;
using Drover.Decisions.Placement;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Fleet;

/// <summary>
/// Every instance the aggregator placed or heard of: its assignment (decided here) and its latest
/// report (from the node). Every assignment carries a fencing epoch that grows each time the
/// instance is assigned to a node; with an <see cref="IAssignmentStore"/>, assignments are written
/// to it as they change and loaded from it at start, so a restarted aggregator knows every instance
/// and its epoch before any node reports (a stale copy reporting first is a stale copy, not the
/// owner). Instances the store does not know are taken from the reports of the nodes that reconnect.
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
    private readonly IAssignmentStore? _store;

    /// <summary>Serialises the writes to <see cref="_store"/>, so they land in the order the table changed.</summary>
    private readonly Lock _storeGate = new();

    /// <param name="time">The table's clock.</param>
    /// <param name="store">Where assignments are kept across restarts; loaded here. Null: memory only.</param>
    public InstanceTable(TimeProvider time, IAssignmentStore? store = null)
    {
        _time = time;
        _store = store;
        LoadedAt = time.GetTimestamp();
        foreach (var loaded in store?.LoadAssignments() ?? [])
        {
            _rows[loaded.InstanceId] = new Row(loaded.InstanceId, loaded.Function)
            {
                AssignedNodeId = loaded.NodeId,
                AssignedAt = LoadedAt,
                Epoch = loaded.Epoch,
                HomeCluster = loaded.HomeCluster,
                Loaded = true,
            };
        }
    }

    /// <summary>When the table was created (and its assignments loaded), on the table's clock.</summary>
    public long LoadedAt { get; }

    /// <summary>
    /// Raised (outside the table's lock) when an instance becomes ready where it is assigned, or stops
    /// being so: the gateway's table of hosts follows at once rather than at the next period.
    /// </summary>
    public event Action? ReadinessChanged;

    /// <summary>
    /// Assigns an instance to a node (a new instance, or one moving). A new instance belongs to
    /// <paramref name="homeCluster"/>; a moving one keeps the home it had, so failback knows where it goes back to.
    /// </summary>
    /// <returns>The assignment's fencing epoch: one more than the instance had (1 for a new one).</returns>
    /// <remarks>With a store, the assignment is durable before this returns, so no command carrying the epoch can leave first.</remarks>
    public long Assign(string instanceId, string function, string nodeId, string? homeCluster = null)
    {
        var wasReady = false;
        StoredAssignment stored;
        lock (_storeGate)
        {
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
                row.Epoch++;
                row.Loaded = false;
                stored = row.ToStored();
            }

            _store?.SaveAssignment(stored);
        }

        if (wasReady)
        {
            ReadinessChanged?.Invoke();
        }

        return stored.Epoch;
    }

    /// <summary>The instance's current fencing epoch; 0 when the instance is unknown, or was taken from the report of an agent that does not know epochs.</summary>
    public long Epoch(string instanceId)
    {
        lock (_gate)
        {
            return _rows.TryGetValue(instanceId, out var row) ? row.Epoch : 0;
        }
    }

    /// <summary>
    /// The nodes of assignments loaded from the store whose instance has not been assigned again or
    /// reported from there since: nodes a restarted aggregator waits for (one lease) before it takes
    /// them for lost.
    /// </summary>
    public IReadOnlyCollection<string> AwaitedNodes()
    {
        lock (_gate)
        {
            return _rows.Values.Where(r => r.Loaded).Select(r => r.AssignedNodeId).ToHashSet(StringComparer.Ordinal);
        }
    }

    /// <summary>
    /// Records a node's report. A report from a node the instance is not assigned to (it moved while
    /// that node was lost) is kept as a stale copy for the reconciler to stop.
    /// </summary>
    public void Record(string nodeId, InstanceReport report)
    {
        bool readinessChanged;
        lock (_storeGate)
        {
            readinessChanged = RecordLocked(nodeId, report, out var adopted);
            if (adopted is not null)
            {
                _store?.SaveAssignment(adopted);
            }
        }

        if (readinessChanged)
        {
            ReadinessChanged?.Invoke();
        }
    }

    /// <summary><see cref="Record"/> under the lock; true when the instance's readiness changed; <paramref name="adopted"/>, an instance taken from the report.</summary>
    private bool RecordLocked(string nodeId, InstanceReport report, out StoredAssignment? adopted)
    {
        adopted = null;
        lock (_gate)
        {
            _rows.TryGetValue(report.InstanceId, out var row);
            var reportedEpoch = (long)Math.Min(report.Epoch, long.MaxValue);
            var facts = new ReportFacts(
                row is not null,
                _stopping.ContainsKey(report.InstanceId),
                row?.AssignedNodeId,
                row?.Epoch ?? 0,
                row is null ? _rows.Values.Count(r => r.AssignedNodeId == nodeId) : 0,
                nodeId,
                report.State == InstanceState.Stopped,
                reportedEpoch);
            switch (ReportIntake.Classify(facts, MaxInstancesPerNode))
            {
                case ReportVerdict.Ignore:
                case ReportVerdict.OlderEpoch:
                    return false;
                case ReportVerdict.StoppingEnded:
                    _stopping.Remove(report.InstanceId);
                    return false;
                case ReportVerdict.StaleCopy:
                    _staleCopies[(report.InstanceId, nodeId)] = row!.Function;
                    return false;
                case ReportVerdict.StaleCopyEnded:
                    _staleCopies.Remove((report.InstanceId, nodeId));
                    return false;
                case ReportVerdict.Adopt:
                    var key = report.Kind == WorkloadKind.Service ? WorkloadKeys.ServiceSet(report.Function, report.Version) : report.Function;
                    row = new Row(report.InstanceId, key) { AssignedNodeId = nodeId, AssignedAt = _time.GetTimestamp(), Epoch = reportedEpoch };
                    _rows[report.InstanceId] = row;
                    adopted = row.ToStored();
                    break;
            }

            // Adopted above, or known: the row the report is for.
            var recorded = row!;
            var wasReady = recorded.Ready;
            recorded.Loaded = false;
            recorded.ReportedNodeId = nodeId;
            recorded.ReportedAt = _time.GetTimestamp();
            recorded.Version = report.Version;
            recorded.State = StateName(report.State);
            recorded.Pid = report.Pid;
            recorded.Port = (int)report.Port;
            recorded.Restarts = (int)report.Restarts;
            recorded.LastExitCode = report.LastExitCode;
            recorded.LastSignal = report.LastSignal;
            recorded.Reason = report.Reason;
            recorded.Ready = report.Ready && report.State == InstanceState.Running;
            recorded.ReportedGpuUuid = report.GpuUuids.Count > 0 ? report.GpuUuids[0] : null;
            if (report.StateVersion > recorded.CommittedStateVersion)
            {
                recorded.CommittedStateVersion = report.StateVersion;
            }

            return wasReady != recorded.Ready;
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
        lock (_storeGate)
        {
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

            _store?.DeleteAssignment(instanceId);
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
                .Select(r => new InstanceView(r.InstanceId, r.Function, r.AssignedNodeId, r.ReportedNodeId, r.State, r.Version, r.Pid, r.Port, r.Restarts, r.LastExitCode, r.LastSignal, r.Reason, r.CommittedStateVersion, r.AssignedAt, r.ReportedAt, r.Ready, r.HomeCluster, r.ReportedGpuUuid, r.Epoch, r.Loaded))
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

        /// <summary>The fencing epoch of its assignment: grows with every <see cref="Assign"/>; 0 when unknown.</summary>
        public long Epoch { get; set; }

        /// <summary>Loaded from the store, and neither assigned again nor reported from its node since.</summary>
        public bool Loaded { get; set; }

        public StoredAssignment ToStored() => new(InstanceId, Function, AssignedNodeId, Epoch, HomeCluster);
    }
}
