using Drover.Decisions.Liveness;
using Drover.Decisions.Placement;
using Drover.Decisions.Scaling;

namespace Drover.Decisions.Reconcile;

/// <summary>
/// One reconciliation pass, whole: a snapshot and the memory the last pass left in, the actions and
/// the next memory out. It composes the named decisions in the order their effects depend on each
/// other, carrying each one's effects forward on the snapshot (a move placement decides is where the
/// start check and the autoscaler see the instance), so the host only takes the snapshot, calls this,
/// and acts:
/// <list type="number">
/// <item><see cref="RestartGrace"/>: which nodes of a restarted aggregator's loaded assignments are still awaited.</item>
/// <item><see cref="InstancePlacement"/>: counted workloads, every-node functions, failover and failback.</item>
/// <item><see cref="StartCheck"/> and <see cref="NodePenalty"/>: failed autoscaled starts, their nodes penalised.</item>
/// <item><see cref="Autoscaler"/> on <see cref="ScalingSnapshotOf"/>, then <see cref="Resumption"/>: the autoscaled
/// functions' starts and stops, a start resuming a stranded instance where there is one.</item>
/// <item><see cref="SettingsFollowUp"/>: changed settings within a version resent.</item>
/// <item><see cref="InstanceFollowUp"/>: unconfirmed starts, stale copies and pending stops sent again.</item>
/// </list>
/// Pure: no clock, no I/O; time comes in as durations.
/// </summary>
public static class ReconcilePass
{
    public static ReconcileResult Decide(ReconcileSnapshot snapshot, ReconcileMemory memory)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(memory);
        var elapsed = snapshot.Elapsed > TimeSpan.Zero ? snapshot.Elapsed : TimeSpan.Zero;
        var actions = new List<ReconcileAction>();
        var sentNow = new HashSet<string>(StringComparer.Ordinal);
        var workloads = snapshot.Workloads.ToDictionary(w => w.Key, StringComparer.Ordinal);
        var autoscaled = snapshot.Workloads.Where(w => w.Scaling is not null).ToArray();
        var autoscaledNames = autoscaled.Select(w => w.Key).ToHashSet(StringComparer.Ordinal);

        // 1. After a restart, the nodes of loaded assignments that have not reconnected are awaited:
        // neither lost nor a target until the grace runs out.
        var awaited = RestartGrace.Awaited(snapshot.AwaitedCandidates, snapshot.Nodes.Select(n => n.NodeId), snapshot.SinceLoad, snapshot.RestartGrace);
        var live = snapshot.Nodes.Where(n => !n.Lost).Select(n => n.NodeId).ToHashSet(StringComparer.Ordinal);
        live.UnionWith(awaited);

        // 2. Placement. An autoscaled function goes to it with the instances it has on nodes that are not
        // lost, so placement's counted rule neither adds nor removes (the autoscaler does) and its failback
        // still moves them home. Its instances on lost nodes are the autoscaler's to move.
        var instances = snapshot.Instances.ToList();
        var placed = instances.Where(i => !autoscaledNames.Contains(i.Workload) || live.Contains(i.NodeId)).ToArray();
        var placedCount = placed.CountBy(i => i.Workload, StringComparer.Ordinal).ToDictionary(StringComparer.Ordinal);
        var homeOf = instances.Where(i => awaited.Contains(i.NodeId)).GroupBy(i => i.NodeId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(i => i.HomeCluster).FirstOrDefault(h => h is not null) ?? "", StringComparer.Ordinal);
        var placement = InstancePlacement.Decide(new PlacementSnapshot(
            snapshot.Nodes.Select(n => new PlacementNode(n.NodeId, n.Cluster, n.ServerNumber, n.Survives, n.Lost))
                .Concat(awaited.Order(StringComparer.Ordinal).Select(id => new PlacementNode(id, homeOf.GetValueOrDefault(id, ""), 0, Survives: false, Lost: false)))
                .ToArray(),
            snapshot.Workloads.Select(w => new PlacementFunction(w.Key, w.Scaling is not null ? placedCount.GetValueOrDefault(w.Key) : w.Instances)).ToArray(),
            placed.Where(i => workloads.ContainsKey(i.Workload)).Select(i => new PlacementInstance(i.InstanceId, i.Workload, i.NodeId, i.HomeCluster)).ToArray(),
            snapshot.Backups));

        var shortfallsLogged = new HashSet<string>(memory.ShortfallsLogged, StringComparer.Ordinal);
        shortfallsLogged.IntersectWith(placement.Where(a => a.Kind == PlacementActionKind.Shortfall).Select(a => a.InstanceId ?? a.Function));
        foreach (var action in placement)
        {
            switch (action.Kind)
            {
                case PlacementActionKind.Start:
                    actions.Add(new ReconcileAction(ReconcileActionKind.Start, action.Function, null, null, action.ToNodeId, action.Reason));
                    break;
                case PlacementActionKind.Move:
                    actions.Add(new ReconcileAction(ReconcileActionKind.Move, action.Function, action.InstanceId, action.FromNodeId, action.ToNodeId, action.Reason));
                    Moved(instances, action.InstanceId!, action.ToNodeId!, null);
                    break;
                case PlacementActionKind.Remove:
                    // Out of a service's routes first: the actuator stops it once every node applied that.
                    actions.Add(new ReconcileAction(ReconcileActionKind.Stop, action.Function, action.InstanceId, action.FromNodeId, null, action.Reason,
                        Drain: workloads[action.Function].DrainTimeout, RoutesFirst: true));
                    sentNow.Add(StopKey(action.InstanceId!));
                    break;
                case PlacementActionKind.Shortfall:
                    if (shortfallsLogged.Add(action.InstanceId ?? action.Function))
                    {
                        actions.Add(new ReconcileAction(ReconcileActionKind.LogShortfall, action.Function, action.InstanceId, null, null, action.Reason));
                    }

                    break;
            }
        }

        // 3-4. The autoscaled functions.
        var (penalties, windows, desired, shortfallRecorded, failuresLogged) = autoscaled.Length == 0
            ? (NodePenalty.Advance(memory.Penalties, elapsed, [], NodePenalty.Duration), new Dictionary<string, ScalingPrevious>(StringComparer.Ordinal), new Dictionary<string, int>(StringComparer.Ordinal), new Dictionary<string, int>(StringComparer.Ordinal), new HashSet<string>(StringComparer.Ordinal))
            : Autoscale(snapshot, memory, autoscaled, instances, live, awaited, elapsed, actions, sentNow);

        // 5. Settings changed within a version: the running instances get their spec again.
        var handed = snapshot.Workloads.ToDictionary(w => w.Key, w => new HandedSettings(w.Version, w.Fingerprint), StringComparer.Ordinal);
        var resend = SettingsFollowUp.ToResend(memory.Handed, handed).ToHashSet(StringComparer.Ordinal);
        foreach (var instance in instances.Where(i => resend.Contains(i.Workload)))
        {
            actions.Add(new ReconcileAction(ReconcileActionKind.ResendSettings, instance.Workload, instance.InstanceId, null, instance.NodeId, $"the settings of '{instance.Workload}' changed"));
        }

        // 6. Follow-up: the memory of sends covers what is still followed up, and nothing that went. A copy on the node
        // its instance is assigned to now (moved back there by this pass) is no longer stale: the start sent there
        // replaces it under the new epoch, and a stop would end the instance itself.
        var assignedTo = instances.ToDictionary(i => i.InstanceId, i => i.NodeId, StringComparer.Ordinal);
        var staleCopies = snapshot.StaleCopies
            .Where(c => !string.Equals(assignedTo.GetValueOrDefault(c.InstanceId), c.NodeId, StringComparison.Ordinal))
            .ToArray();
        var ages = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        var followed = instances.Select(i => i.InstanceId)
            .Concat(staleCopies.Select(c => StaleKey(c.InstanceId, c.NodeId)))
            .Concat(snapshot.PendingStops.Select(s => StopKey(s.InstanceId)))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var (key, age) in memory.SinceSent)
        {
            if (followed.Contains(key) && !sentNow.Contains(key))
            {
                ages[key] = age + elapsed;
            }
        }

        foreach (var key in sentNow)
        {
            ages[key] = TimeSpan.Zero;
        }

        TimeSpan? Since(string key) => ages.TryGetValue(key, out var age) ? age : null;
        var followUp = InstanceFollowUp.Decide(new FollowUpSnapshot(
            instances.Select(i => new FollowUpInstance(i.InstanceId, i.Workload, i.NodeId, i.Confirmed, i.ReportedVersion, i.SinceAssigned, Since(i.InstanceId))).ToArray(),
            staleCopies.Select(c => new FollowUpStaleCopy(c.InstanceId, c.NodeId, c.Workload, Since(StaleKey(c.InstanceId, c.NodeId)))).ToArray(),
            snapshot.PendingStops.Select(s => new FollowUpPendingStop(s.InstanceId, s.NodeId, s.Workload, s.DeleteState, Since(StopKey(s.InstanceId)))).ToArray(),
            workloads.ToDictionary(w => w.Key, w => w.Value.Version, StringComparer.Ordinal),
            snapshot.Nodes.Where(n => n.Connected && !n.Lost).Select(n => n.NodeId).ToHashSet(StringComparer.Ordinal),
            snapshot.ConfirmTimeout));
        foreach (var action in followUp)
        {
            var (kind, key) = action.Kind switch
            {
                FollowUpKind.StopStaleCopy => (ReconcileActionKind.StopStaleCopy, StaleKey(action.InstanceId, action.NodeId)),
                FollowUpKind.StopDeleted => (ReconcileActionKind.StopDeleted, StopKey(action.InstanceId)),
                FollowUpKind.ResendStop => (ReconcileActionKind.ResendStop, StopKey(action.InstanceId)),
                _ => (ReconcileActionKind.Resend, action.InstanceId),
            };
            ages[key] = TimeSpan.Zero;
            actions.Add(new ReconcileAction(kind, action.Function, action.InstanceId, action.NodeId, kind == ReconcileActionKind.Resend ? action.NodeId : null, action.Reason));
        }

        var next = new ReconcileMemory(handed, windows, penalties, ages, shortfallRecorded, shortfallsLogged, failuresLogged);
        return new ReconcileResult(actions, next, desired);
    }

    /// <summary>
    /// The autoscaler's snapshot of one pass: what <see cref="Autoscaler.Decide(ScalingSnapshot)"/> reads.
    /// A node may take new instances when it survives, is in a serving cluster and is not penalised; an
    /// instance counts where it is assigned when that node is not lost (or is awaited) and it is not in
    /// <paramref name="uncounted"/>; a function's request queue is what its shims on nodes that are not
    /// lost hold plus what the gateway holds.
    /// </summary>
    public static ScalingSnapshot ScalingSnapshotOf(
        ReconcileSnapshot snapshot,
        IReadOnlyList<ReconcileInstance> instances,
        IReadOnlySet<string> awaited,
        IReadOnlySet<string> uncounted,
        IReadOnlySet<string> penalised,
        IReadOnlyDictionary<string, ScalingPrevious> previous,
        TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(instances);
        ArgumentNullException.ThrowIfNull(awaited);
        ArgumentNullException.ThrowIfNull(uncounted);
        ArgumentNullException.ThrowIfNull(penalised);
        var nodes = snapshot.Nodes.Select(n => new ScalingNode(
            n.NodeId,
            n.Cluster,
            n.ServerNumber,
            ScalingRules.MayTakeInstances(n.Survives, n.Cluster, snapshot.ServingClusters, penalised.Contains(n.NodeId)),
            n.Priority,
            n.Weight,
            n.Gpus)).ToArray();

        var live = snapshot.Nodes.Where(n => !n.Lost).Select(n => n.NodeId).ToHashSet(StringComparer.Ordinal);
        live.UnionWith(awaited);
        var functions = snapshot.Workloads.Where(w => w.Scaling is not null).ToArray();
        var loads = functions.ToDictionary(
            f => f.Key,
            f => snapshot.Loads.GetValueOrDefault(f.Key) ?? new FunctionLoad(new Dictionary<string, NodeLoad>(StringComparer.Ordinal), 0),
            StringComparer.Ordinal);
        var scalingInstances = instances
            .Where(i => loads.ContainsKey(i.Workload) && live.Contains(i.NodeId) && !uncounted.Contains(i.InstanceId))
            .Select(i => new ScalingInstance(
                i.InstanceId,
                i.Workload,
                i.NodeId,
                i.GpuUuid,
                Starting: !i.Ready,
                InFlight: loads[i.Workload].PerNode.TryGetValue(i.NodeId, out var load) ? (int)Math.Clamp(load.InFlight, 0, int.MaxValue) : 0,
                Awaited: awaited.Contains(i.NodeId)))
            .ToArray();
        var queues = loads.ToDictionary(
            l => l.Key,
            l => ScalingRules.RequestQueueLength(l.Value.PerNode.Select(n => (!live.Contains(n.Key), n.Value.Queued, n.Value.InFlight)), l.Value.GatewayHeld),
            StringComparer.Ordinal);
        return new ScalingSnapshot(functions.Select(f => f.Scaling!).ToArray(), nodes, scalingInstances, queues, previous, elapsed);
    }

    /// <summary>
    /// Failed starts found (their nodes penalised), then the scaling decision carried out: a start of a
    /// function with stranded instances (on lost nodes, or a failed start that may hold state) resumes
    /// one of them there instead; stranded instances no start took, of functions that have what they
    /// want without them, are let go.
    /// </summary>
    private static (IReadOnlyDictionary<string, TimeSpan> Penalties, IReadOnlyDictionary<string, ScalingPrevious> Windows, Dictionary<string, int> Desired, Dictionary<string, int> ShortfallRecorded, HashSet<string> FailuresLogged) Autoscale(
        ReconcileSnapshot snapshot,
        ReconcileMemory memory,
        IReadOnlyList<ReconcileWorkload> autoscaled,
        List<ReconcileInstance> instances,
        HashSet<string> live,
        HashSet<string> awaited,
        TimeSpan elapsed,
        List<ReconcileAction> actions,
        HashSet<string> sentNow)
    {
        var names = autoscaled.Select(w => w.Key).ToHashSet(StringComparer.Ordinal);
        var definitionOf = autoscaled.ToDictionary(w => w.Key, StringComparer.Ordinal);

        void Stop(string function, string instanceId, string nodeId, string reason, TimeSpan? drain)
        {
            actions.Add(new ReconcileAction(ReconcileActionKind.Stop, function, instanceId, nodeId, null, reason, Drain: drain));
            sentNow.Add(StopKey(instanceId));
            instances.RemoveAll(i => i.InstanceId == instanceId);
        }

        // Starts are checked on the nodes that are known and not lost: an awaited node's instances wait for the grace.
        var failures = StartCheck.Failed(
            instances
                .Where(i => names.Contains(i.Workload) && live.Contains(i.NodeId) && !awaited.Contains(i.NodeId))
                .Select(i => new StartCheckInstance(i.InstanceId, i.NodeId, i.Confirmed, i.Failed, i.FailureReason, i.SinceAssigned, i.MayHoldState, i.Loaded))
                .ToArray(),
            snapshot.ConfirmTimeout);
        var functionOf = instances.ToDictionary(i => i.InstanceId, i => i.Workload, StringComparer.Ordinal);
        var failuresLogged = new HashSet<string>(memory.FailuresLogged, StringComparer.Ordinal);
        failuresLogged.IntersectWith(failures.Select(f => f.InstanceId));
        var uncounted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var failed in failures)
        {
            var function = functionOf[failed.InstanceId];
            if (failed.Action == StartFailureAction.Remove)
            {
                Stop(function, failed.InstanceId, failed.NodeId, failed.Reason, null);
            }
            else
            {
                uncounted.Add(failed.InstanceId);
            }

            if (failuresLogged.Add(failed.InstanceId))
            {
                actions.Add(new ReconcileAction(ReconcileActionKind.LogStartFailed, function, failed.InstanceId, failed.NodeId, null, failed.Reason));
            }
        }

        var penalties = NodePenalty.Advance(memory.Penalties, elapsed, failures.Select(f => f.NodeId), NodePenalty.Duration);
        var scaling = ScalingSnapshotOf(snapshot, instances, awaited, uncounted, penalties.Keys.ToHashSet(StringComparer.Ordinal), memory.Windows, elapsed);
        var result = Autoscaler.Decide(scaling);

        var desired = scaling.Instances.CountBy(i => i.Function, StringComparer.Ordinal).ToDictionary(StringComparer.Ordinal);
        foreach (var name in names.Where(n => !desired.ContainsKey(n)).ToArray())
        {
            desired[name] = 0;
        }

        var shortfallRecorded = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var decision in result.Decisions)
        {
            // No decision for a function: it is at its desired count.
            desired[decision.Function] = decision.Desired;
            var recorded = memory.ShortfallRecorded.GetValueOrDefault(decision.Function);
            if (decision.Changed || (decision.Shortfall > 0 && recorded != decision.Shortfall))
            {
                actions.Add(new ReconcileAction(ReconcileActionKind.RecordScaling, decision.Function, null, null, null, decision.Reason, Scaling: decision));
            }

            if (decision.Shortfall > 0)
            {
                shortfallRecorded[decision.Function] = decision.Shortfall;
            }
        }

        string Stranded(ReconcileInstance s) => uncounted.Contains(s.InstanceId)
            ? $"the start of instance '{s.InstanceId}' failed on node '{s.NodeId}'"
            : $"node '{s.NodeId}' is lost";
        var stranded = instances
            .Where(i => names.Contains(i.Workload) && (!live.Contains(i.NodeId) || uncounted.Contains(i.InstanceId)))
            .ToDictionary(i => i.InstanceId, StringComparer.Ordinal);
        var plan = Resumption.Plan(stranded.Values.Select(i => new StrandedInstance(i.InstanceId, i.Workload, i.NodeId, i.AssignedOrder)), result.Decisions);
        var decisionOf = result.Decisions.ToDictionary(d => d.Function, StringComparer.Ordinal);
        foreach (var (function, start, resumes) in plan.Starts)
        {
            var decision = decisionOf[function];
            var reason = $"autoscale: '{function}' wants {decision.Desired} instances and has {decision.Current}; node '{start.NodeId}' GPU '{start.GpuUuid}' ranks {start.Rank}";
            if (resumes is null)
            {
                actions.Add(new ReconcileAction(ReconcileActionKind.Start, function, null, null, start.NodeId, reason, start.GpuUuid));
                continue;
            }

            var instance = stranded[resumes.InstanceId];
            actions.Add(new ReconcileAction(ReconcileActionKind.Move, function, resumes.InstanceId, resumes.NodeId, start.NodeId,
                $"{reason}; {Stranded(instance)}, so the instance resumes there", start.GpuUuid));
            Moved(instances, resumes.InstanceId, start.NodeId, start.GpuUuid);
        }

        var eligible = scaling.Nodes.Where(n => n.Eligible).Select(n => n.NodeId).ToHashSet(StringComparer.Ordinal);
        foreach (var decision in result.Decisions)
        {
            foreach (var stop in decision.Stops)
            {
                // Drain first: the instance finishes what it serves before its process stops.
                var reason = $"autoscale: '{decision.Function}' wants {decision.Desired} instances and has {decision.Current}; node '{stop.NodeId}' ({(eligible.Contains(stop.NodeId) ? "eligible" : "not eligible")}) GPU '{stop.GpuUuid ?? "unknown"}' ranks worst ({stop.InFlight} in flight when chosen)";
                Stop(decision.Function, stop.InstanceId, stop.NodeId, reason, definitionOf[decision.Function].DrainTimeout);
            }
        }

        // Stranded instances no start took, of functions that have the instances they want without them:
        // let go (a stop reaches the node should it come back in time).
        foreach (var surplus in plan.LetGo)
        {
            Stop(surplus.Function, surplus.InstanceId, surplus.NodeId,
                $"autoscale: {Stranded(stranded[surplus.InstanceId])} and '{surplus.Function}' has the {desired.GetValueOrDefault(surplus.Function)} instances it wants without this one", null);
        }

        return (penalties, result.Previous, desired, shortfallRecorded, failuresLogged);
    }

    /// <summary>Carries a move forward on the pass's instances: assigned anew, nothing reported from there yet.</summary>
    private static void Moved(List<ReconcileInstance> instances, string instanceId, string toNodeId, string? gpuUuid)
    {
        var index = instances.FindIndex(i => i.InstanceId == instanceId);
        if (index >= 0)
        {
            instances[index] = instances[index] with
            {
                NodeId = toNodeId,
                SinceAssigned = TimeSpan.Zero,
                Confirmed = false,
                Failed = false,
                FailureReason = "",
                Ready = false,
                ReportedVersion = "",
                MayHoldState = true,
                Loaded = false,
                GpuUuid = gpuUuid,
            };
        }
    }

    private static string StopKey(string instanceId) => $"stop:{instanceId}";

    private static string StaleKey(string instanceId, string nodeId) => $"stale:{instanceId}:{nodeId}";
}
