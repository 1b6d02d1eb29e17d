using Drover.Protocol.Nodes;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Fleet;

/// <summary>
/// The aggregator's node table: the latest view of every node it has heard from. Ingest (the agent
/// link) writes it; the liveness monitor, the survival prober and the HTTP API read snapshots of it.
/// Every time is read from the injected <see cref="TimeProvider"/>: the aggregator's own clock
/// decides liveness.
/// </summary>
internal sealed class NodeTable
{
    /// <summary>
    /// How many survival probes are kept per node while unanswered. Beyond it the second oldest is
    /// forgotten: the oldest keeps the unanswered age honest, the newest lets a live agent's next
    /// answer clear them all.
    /// </summary>
    public const int MaxOutstandingProbes = 8;

    private readonly object _gate = new();
    private readonly Dictionary<string, Row> _rows = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly NodeOverrides? _overrides;
    private ulong _probeSequence;

    /// <param name="time">The aggregator's clock.</param>
    /// <param name="overrides">The persisted weight and priority overrides; null (tests) for none.</param>
    public NodeTable(TimeProvider time, NodeOverrides? overrides = null)
    {
        _time = time;
        _overrides = overrides;
    }

    /// <summary>
    /// Raised, outside the table's lock, when what decides a node's survival or share may have changed:
    /// a node registered (a new stream), its stream ended, it was marked lost, its reported survival
    /// state changed (by a heartbeat or a probe reply), its weight or priority override changed, a
    /// probe reply ended an overdue spell, or <see cref="CheckOverdueProbes"/> found a probe newly
    /// overdue. The table has no clock of its own: overdue probes are noticed only by that call, which
    /// the <see cref="SurvivalProber"/> makes. Subscribers take a <see cref="Snapshot"/>; they must not
    /// block.
    /// </summary>
    public event Action? Changed;

    /// <summary>The aggregator's clock now, as a timestamp comparable with those the table keeps.</summary>
    public long Now => _time.GetTimestamp();

    /// <summary>
    /// Accepts a node on a new stream, or refuses it when its server number is held by another live
    /// node of the same cluster. A lost node holding that number gives it up.
    /// </summary>
    /// <param name="identity">The node as its Hello describes it.</param>
    /// <param name="connectionId">Its new stream.</param>
    /// <param name="maxNodesPerCluster">The most nodes its cluster may hold: a node id the table does not know is refused in a full cluster.</param>
    public RegistrationResult Register(NodeIdentity identity, Guid connectionId, int maxNodesPerCluster = int.MaxValue)
    {
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            if (!_rows.ContainsKey(identity.NodeId))
            {
                // A lost node this one takes the server number of (below) makes room for it.
                var inCluster = _rows.Values.Count(r => string.Equals(r.Identity.Cluster, identity.Cluster, StringComparison.Ordinal)
                    && !(r.Survival == NodeSurvival.Lost && r.Identity.ServerNumber == identity.ServerNumber));
                if (inCluster >= maxNodesPerCluster)
                {
                    return RegistrationResult.Refused(
                        "cluster",
                        $"cluster '{identity.Cluster}' holds {inCluster} nodes, the most maxNodesPerCluster allows; a lost node makes room once it is forgotten");
                }
            }

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

            // Probes belong to a stream: what the old one left unanswered says nothing of this one.
            existing.Outstanding.Clear();
            existing.OverdueSignalled = false;
        }

        Changed?.Invoke();
        return RegistrationResult.Ok;
    }

    /// <summary>
    /// Records a heartbeat. Returns false when the stream is not the node's current one (a stale
    /// stream replaced by a reconnect), in which case nothing changes. Returns whether the node was lost before.
    /// </summary>
    public bool RecordHeartbeat(string nodeId, Guid connectionId, ulong sequence, NodeSurvival survival, out bool wasLost)
    {
        var now = _time.GetTimestamp();
        bool changed;
        lock (_gate)
        {
            wasLost = false;
            if (!_rows.TryGetValue(nodeId, out var row) || row.ConnectionId != connectionId)
            {
                return false;
            }

            wasLost = row.Survival == NodeSurvival.Lost;
            changed = row.Survival != survival;
            row.LastHeartbeat = now;
            row.LastSequence = sequence;
            row.Survival = survival;
        }

        if (changed)
        {
            Changed?.Invoke();
        }

        return true;
    }

    /// <summary>
    /// Notes a survival probe about to be sent on the node's stream <paramref name="connectionId"/> and
    /// returns its sequence, or null when that stream is not the node's current one or the agent did
    /// not say in its Hello that it answers probes (an older agent: probing it would only make it look
    /// unanswered; its survival rests on heartbeats alone, as before). Called before the
    /// probe is queued, so its reply always finds it; a probe that could not be queued (a full outbox)
    /// stays outstanding, which is the truth about a stream that does not drain.
    /// </summary>
    public ulong? ProbeSent(string nodeId, Guid connectionId)
    {
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            if (!_rows.TryGetValue(nodeId, out var row) || row.ConnectionId != connectionId || !row.Identity.AnswersProbes)
            {
                return null;
            }

            // One sequence for the whole table: never reused across nodes or streams, so a late reply
            // to an earlier stream's probe cannot pass for an answer on this one.
            var sequence = ++_probeSequence;
            if (row.Outstanding.Count >= MaxOutstandingProbes)
            {
                row.Outstanding.RemoveAt(1);
            }

            row.Outstanding.Add(new SentProbe(sequence, now));
            return sequence;
        }
    }

    /// <summary>
    /// Records a probe's reply. Accepted only on the node's current stream and for a probe still
    /// outstanding on it; the round trip is measured from that probe, and it and every older one are
    /// answered (the stream is ordered: an answer to a later probe proves the earlier ones' stream
    /// alive, even if the agent dropped their replies). The reported state becomes the node's survival
    /// like a heartbeat's, but the heartbeat's age is not refreshed, and a lost node stays lost until
    /// it heartbeats again (otherwise the liveness monitor would lose it again at once).
    /// </summary>
    public ProbeReplyOutcome RecordProbeReply(string nodeId, Guid connectionId, ulong sequence, NodeSurvival survival)
    {
        var now = _time.GetTimestamp();
        bool changed;
        lock (_gate)
        {
            if (!_rows.TryGetValue(nodeId, out var row) || row.ConnectionId != connectionId)
            {
                return ProbeReplyOutcome.NotCurrentStream;
            }

            var index = row.Outstanding.FindIndex(p => p.Sequence == sequence);
            if (index < 0)
            {
                return ProbeReplyOutcome.UnknownSequence;
            }

            row.LastRoundTrip = _time.GetElapsedTime(row.Outstanding[index].SentAt, now);
            row.Outstanding.RemoveRange(0, index + 1);

            // An overdue spell that ends may make the node survive again: wake the subscribers. If a
            // newer probe is overdue too, the next check says so again.
            changed = row.OverdueSignalled;
            row.OverdueSignalled = false;
            if (row.Survival != NodeSurvival.Lost && row.Survival != survival)
            {
                row.Survival = survival;
                changed = true;
            }
        }

        if (changed)
        {
            Changed?.Invoke();
        }

        return ProbeReplyOutcome.Accepted;
    }

    /// <summary>
    /// Finds the nodes whose oldest unanswered probe has become at least <paramref name="probeTimeout"/>
    /// old since the last check and raises <see cref="Changed"/> once if there are any. Returns them,
    /// and how long until the next outstanding probe reaches the timeout (null when none is waiting
    /// to), so the caller can check again right then.
    /// </summary>
    public OverdueProbes CheckOverdueProbes(TimeSpan probeTimeout)
    {
        var now = _time.GetTimestamp();
        List<(string NodeId, TimeSpan Age)>? newlyOverdue = null;
        TimeSpan? next = null;
        lock (_gate)
        {
            foreach (var (id, row) in _rows)
            {
                if (row.Outstanding.Count == 0 || row.ConnectionId is null)
                {
                    continue;
                }

                var age = _time.GetElapsedTime(row.Outstanding[0].SentAt, now);
                if (age >= probeTimeout)
                {
                    if (!row.OverdueSignalled)
                    {
                        row.OverdueSignalled = true;
                        (newlyOverdue ??= []).Add((id, age));
                    }
                }
                else if (next is null || probeTimeout - age < next)
                {
                    next = probeTimeout - age;
                }
            }
        }

        if (newlyOverdue is not null)
        {
            Changed?.Invoke();
        }

        return new OverdueProbes(newlyOverdue ?? [], next);
    }

    /// <summary>
    /// Changes a known node's weight and priority override (persisted before it is visible) and
    /// raises <see cref="Changed"/>; false when no node with that id is known.
    /// </summary>
    public bool ChangeOverride(string nodeId, Func<NodeOverride, NodeOverride> change)
    {
        if (_overrides is null)
        {
            throw new InvalidOperationException("this node table keeps no overrides");
        }

        lock (_gate)
        {
            if (!_rows.ContainsKey(nodeId))
            {
                return false;
            }
        }

        _overrides.Change(nodeId, change);
        Changed?.Invoke();
        return true;
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
            if (!_rows.TryGetValue(nodeId, out var row) || row.ConnectionId != connectionId)
            {
                return;
            }

            row.ConnectionId = null;
            row.Outstanding.Clear();
            row.OverdueSignalled = false;
        }

        Changed?.Invoke();
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
        }

        Changed?.Invoke();
        return true;
    }

    /// <summary>
    /// Forgets a lost node (decommissioned): it no longer counts in its cluster's total, and its
    /// override is dropped. A node that is not lost is kept: its agent would only register again.
    /// </summary>
    public ForgetOutcome Forget(string nodeId)
    {
        lock (_gate)
        {
            if (!_rows.TryGetValue(nodeId, out var row))
            {
                return ForgetOutcome.Unknown;
            }

            if (row.Survival != NodeSurvival.Lost)
            {
                return ForgetOutcome.NotLost;
            }

            _rows.Remove(nodeId);
        }

        _overrides?.Change(nodeId, _ => new NodeOverride(nodeId));
        Changed?.Invoke();
        return ForgetOutcome.Forgotten;
    }

    /// <summary>
    /// Forgets a lost node's row for retention (<see cref="LostNodePruner"/>), unless a heartbeat
    /// arrived after the snapshot the decision was taken on (<paramref name="observedLastHeartbeat"/>
    /// no longer matches) or the node is no longer lost. Unlike <see cref="Forget"/> its override is
    /// kept, for when it comes back. Returns whether the row went.
    /// </summary>
    public bool ForgetLost(string nodeId, long observedLastHeartbeat)
    {
        lock (_gate)
        {
            if (!_rows.TryGetValue(nodeId, out var row)
                || row.Survival != NodeSurvival.Lost
                || row.ConnectionId is not null
                || row.LastHeartbeat != observedLastHeartbeat)
            {
                return false;
            }

            _rows.Remove(nodeId);
        }

        Changed?.Invoke();
        return true;
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
                views.Add(View(row, now));
            }

            views.Sort(static (a, b) =>
            {
                var byCluster = string.CompareOrdinal(a.Identity.Cluster, b.Identity.Cluster);
                return byCluster != 0 ? byCluster : a.Identity.ServerNumber.CompareTo(b.Identity.ServerNumber);
            });
            return views;
        }
    }

    /// <summary>
    /// One node's row as <see cref="Snapshot"/> shows it, or null for an unknown node: what the API's reads of one
    /// node take, without copying (and holding the table's lock over) every other row of a large fleet.
    /// </summary>
    public NodeView? Find(string nodeId)
    {
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            return _rows.TryGetValue(nodeId, out var row) ? View(row, now) : null;
        }
    }

    private NodeView View(Row row, long now)
    {
        var overridden = _overrides?.Find(row.Identity.NodeId);
        return new NodeView(
            row.Identity,
            row.Survival,
            row.ConnectionId is not null,
            row.LastHeartbeat,
            row.LastSequence,
            _time.GetElapsedTime(row.LastHeartbeat, now),
            row.Gpus,
            row.Gpus.ReceivedAt == 0 ? null : _time.GetElapsedTime(row.Gpus.ReceivedAt, now),
            row.LastRoundTrip,
            row.Outstanding.Count == 0 ? null : _time.GetElapsedTime(row.Outstanding[0].SentAt, now),
            overridden?.Weight ?? row.Identity.Weight ?? NodeLimits.DefaultWeight,
            overridden?.Weight is null ? NodeSettingSource.Agent : NodeSettingSource.Override,
            overridden?.Priority ?? row.Identity.Priority ?? NodeLimits.DefaultPriority,
            overridden?.Priority is null ? NodeSettingSource.Agent : NodeSettingSource.Override);
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

        /// <summary>The probes sent on the current stream and not answered yet, oldest first.</summary>
        public List<SentProbe> Outstanding { get; } = new(MaxOutstandingProbes);

        /// <summary>The round trip of the last answered probe (kept across reconnects: the last measured).</summary>
        public TimeSpan? LastRoundTrip { get; set; }

        /// <summary>Whether <see cref="Changed"/> was raised for the oldest outstanding probe being overdue.</summary>
        public bool OverdueSignalled { get; set; }
    }

    private readonly record struct SentProbe(ulong Sequence, long SentAt);
}
