using Drover.Aggregator.State;
using Drover.Aggregator.Workloads;
using Drover.Decisions.Placement;
using Drover.Protocol;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Fleet;

/// <summary>
/// Every instance the aggregator placed or heard of: its assignment (decided here) and its latest
/// report (from the node). Every assignment carries a fencing epoch that grows each time the
/// instance is assigned to a node; with an <see cref="IAssignmentStore"/>, assignments are written
/// to it as they change and loaded from it at start, so a restarted aggregator knows every instance
/// and its epoch before any node reports (a stale copy reporting first is a stale copy, not the
/// owner). So are the stops of instances removed for good, until their node acknowledges them: a node
/// that missed a stop (unreachable, or the aggregator restarted) gets it again, and its report of the
/// instance never brings it back. Instances the store does not know are taken from the reports of
/// the nodes that reconnect.
/// </summary>
internal sealed class InstanceTable
{
    private readonly Lock _gate = new();
    /// <summary>The most instances one node may hold in the table through its own reports.</summary>
    public const int MaxInstancesPerNode = 1024;

    /// <summary>How long an instance whose stop its node acknowledged is still remembered as stopped (its late reports are not a new instance).</summary>
    public static readonly TimeSpan StoppingMemory = TimeSpan.FromMinutes(10);

    private readonly Dictionary<string, Row> _rows = new(StringComparer.Ordinal);
    private readonly Dictionary<(string InstanceId, string NodeId), string> _staleCopies = [];

    /// <summary>
    /// Instances stopped for good: pending until their node acknowledges the stop (kept in the store
    /// meanwhile), then remembered for <see cref="StoppingMemory"/>; their reports are not taken for new instances.
    /// </summary>
    private readonly Dictionary<string, Stopping> _stopping = new(StringComparer.Ordinal);
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

        foreach (var stop in store?.LoadStops() ?? [])
        {
            _stopping[stop.InstanceId] = new Stopping(stop, AcknowledgedAt: null);
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
    /// <paramref name="gpuUuid"/> is the GPU chosen for it there (an autoscaled instance), null when none was.
    /// </summary>
    /// <returns>The assignment's fencing epoch: one more than the instance had (1 for a new one).</returns>
    /// <remarks>With a store, the assignment is durable before this returns, so no command carrying the epoch can leave first.</remarks>
    public long Assign(string instanceId, string function, string nodeId, string? homeCluster = null, string? gpuUuid = null)
    {
        var wasReady = false;
        StoredAssignment stored;
        lock (_storeGate)
        {
            lock (_gate)
            {
                _stopping.Remove(instanceId);

                // A copy the node reported while the instance was assigned elsewhere is the instance's own again: the
                // start sent there replaces it under the new epoch, and stopping it as stale would end the instance.
                _staleCopies.Remove((instanceId, nodeId));
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
                row.AssignedGpuUuid = gpuUuid;
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

    /// <summary>The GPU chosen for the instance where it is assigned; null when none was, or the instance is unknown.</summary>
    public string? AssignedGpu(string instanceId)
    {
        lock (_gate)
        {
            return _rows.TryGetValue(instanceId, out var row) ? row.AssignedGpuUuid : null;
        }
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
            readinessChanged = RecordLocked(nodeId, report, out var write);
            if (_store is not null)
            {
                write?.Invoke(_store);
            }
        }

        if (readinessChanged)
        {
            ReadinessChanged?.Invoke();
        }
    }

    /// <summary><see cref="Record"/> under the lock; true when the instance's readiness changed; <paramref name="write"/>, what the store must keep of it.</summary>
    private bool RecordLocked(string nodeId, InstanceReport report, out Action<IAssignmentStore>? write)
    {
        write = null;
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
                    _stopping.Remove(report.InstanceId, out var ended);
                    if (ended!.AcknowledgedAt is null)
                    {
                        write = store => store.DeleteStop(report.InstanceId);
                    }

                    return false;
                case ReportVerdict.StopAgain:
                    var stopping = _stopping[report.InstanceId];
                    if (stopping.AcknowledgedAt is not null || stopping.Stop.NodeId != nodeId)
                    {
                        var again = stopping.Stop with { NodeId = nodeId };
                        _stopping[report.InstanceId] = new Stopping(again, AcknowledgedAt: null);
                        write = store => store.SaveStop(again);
                    }

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
                    var adopted = row.ToStored();
                    write = store => store.SaveAssignment(adopted);
                    break;
            }

            // Adopted above, or known: the row the report is for.
            var recorded = row!;
            var wasReady = recorded.Ready;
            recorded.Loaded = false;
            recorded.ReportedNodeId = nodeId;
            recorded.ReportedAt = _time.GetTimestamp();
            recorded.Version = report.Version;
            recorded.State = InstanceStateNames.Of(report.State);
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
    /// Drops the stale-copy records and pending stops of a node the node table forgot: nothing can be
    /// sent to it, and should it come back, its reports record its copies again (and its instances
    /// are adopted, the node then being a new one). Returns how many records went.
    /// </summary>
    public int ForgetStaleCopiesOn(string nodeId)
    {
        string[] stops;
        int copies;
        lock (_storeGate)
        {
            lock (_gate)
            {
                var keys = _staleCopies.Keys.Where(k => k.NodeId == nodeId).ToArray();
                foreach (var key in keys)
                {
                    _staleCopies.Remove(key);
                }

                copies = keys.Length;
                stops = _stopping.Where(s => s.Value.Stop.NodeId == nodeId).Select(s => s.Key).ToArray();
                foreach (var stop in stops)
                {
                    _stopping.Remove(stop, out var forgotten);
                    if (forgotten!.AcknowledgedAt is null)
                    {
                        _store?.DeleteStop(stop);
                    }
                }
            }
        }

        return copies + stops.Length;
    }

    /// <summary>
    /// The stops of instances removed for good that their node has not acknowledged: the follow-up
    /// sends each again while its node is connected.
    /// </summary>
    public IReadOnlyList<StoredStop> PendingStops()
    {
        lock (_gate)
        {
            return _stopping.Values.Where(s => s.AcknowledgedAt is null).Select(s => s.Stop).OrderBy(s => s.InstanceId, StringComparer.Ordinal).ToArray();
        }
    }

    /// <summary>
    /// <paramref name="nodeId"/> answered a stop of the instance (it stopped it, or did not run it):
    /// the stop is no longer pending. An answer from another node than the stop's is ignored. The
    /// instance is still remembered as stopped for <see cref="StoppingMemory"/>.
    /// </summary>
    public void StopAcknowledged(string instanceId, string nodeId)
    {
        lock (_storeGate)
        {
            lock (_gate)
            {
                if (!_stopping.TryGetValue(instanceId, out var stopping) || stopping.AcknowledgedAt is not null || stopping.Stop.NodeId != nodeId)
                {
                    return;
                }

                _stopping[instanceId] = stopping with { AcknowledgedAt = _time.GetUtcNow() };
            }

            _store?.DeleteStop(instanceId);
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
    /// Removes an instance for good: its assignment is replaced by a pending stop to its node (durable
    /// before this returns, so no StopInstance leaves first), which stays until the node acknowledges
    /// it (<see cref="StopAcknowledged"/>) or reports the instance stopped. Meanwhile the node's
    /// reports of it running send the stop again; they never bring it back.
    /// </summary>
    /// <param name="instanceId">The instance; nothing happens when the table does not hold it.</param>
    /// <param name="deleteState">Whether the stop deletes the instance's state on its node.</param>
    public void Remove(string instanceId, bool deleteState)
    {
        var wasReady = false;
        StoredStop? stop = null;
        lock (_storeGate)
        {
            lock (_gate)
            {
                var now = _time.GetUtcNow();
                foreach (var expired in _stopping.Where(s => now - s.Value.AcknowledgedAt > StoppingMemory).Select(s => s.Key).ToArray())
                {
                    _stopping.Remove(expired);
                }

                if (_rows.Remove(instanceId, out var removed))
                {
                    wasReady = removed.Ready;
                    stop = new StoredStop(instanceId, removed.Function, removed.AssignedNodeId, deleteState, now);
                    _stopping[instanceId] = new Stopping(stop, AcknowledgedAt: null);
                }
            }

            if (stop is not null)
            {
                _store?.SaveStop(stop);
            }
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
                .Select(r => new InstanceView(r.InstanceId, r.Function, r.AssignedNodeId, r.ReportedNodeId, r.State, r.Version, r.Pid, r.Port, r.Restarts, r.LastExitCode, r.LastSignal, r.Reason, r.CommittedStateVersion, r.AssignedAt, r.ReportedAt, r.Ready, r.HomeCluster, r.ReportedGpuUuid, r.Epoch, r.Loaded, r.AssignedGpuUuid))
                .ToArray();
        }
    }

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

        /// <summary>The GPU chosen for it where it is assigned (an autoscaled instance); null when none was, or after a restart.</summary>
        public string? AssignedGpuUuid { get; set; }

        /// <summary>The fencing epoch of its assignment: grows with every <see cref="Assign"/>; 0 when unknown.</summary>
        public long Epoch { get; set; }

        /// <summary>Loaded from the store, and neither assigned again nor reported from its node since.</summary>
        public bool Loaded { get; set; }

        public StoredAssignment ToStored() => new(InstanceId, Function, AssignedNodeId, Epoch, HomeCluster);
    }

    /// <summary>A stop of an instance removed for good; <paramref name="AcknowledgedAt"/>: when its node answered it, null while pending.</summary>
    private sealed record Stopping(StoredStop Stop, DateTimeOffset? AcknowledgedAt);
}
