using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Functions;
using Drover.Decisions.Health;
using Drover.Decisions.Scaling;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Placement;

/// <summary>
/// The autoscaler's snapshot, from the fleet state of one pass: what <see cref="Autoscaler.Decide(ScalingSnapshot)"/>
/// reads, and nothing else. A plain function of its arguments, so it is tested without a host.
/// </summary>
internal static class ScalingInputs
{
    /// <summary>The scaling snapshot of the autoscaled functions.</summary>
    /// <param name="functions">The autoscaled function definitions.</param>
    /// <param name="nodes">Every known node.</param>
    /// <param name="instances">The instance table (instances of other workloads are left out).</param>
    /// <param name="awaited">Nodes a restarted aggregator still waits for (<see cref="Drover.Decisions.Liveness.RestartGrace"/>): their instances count, and are never stopped.</param>
    /// <param name="uncounted">Instances that count for nothing where they are (a failed start that resumes elsewhere).</param>
    /// <param name="stats">Each function's shim counters per node.</param>
    /// <param name="gatewayInFlight">What the gateway holds for a function and has not forwarded (a forwarded request is in its shim's count).</param>
    /// <param name="health">The current health decision; null before the first (every surviving node may serve).</param>
    /// <param name="penalised">Nodes that may not take new instances now (a failed start).</param>
    /// <param name="gpuOf">The GPU each instance was started on, where known.</param>
    /// <param name="previous">The previous pass's window state.</param>
    /// <param name="elapsed">Time since the previous pass.</param>
    /// <param name="options">The aggregator's settings (survival).</param>
    public static ScalingSnapshot Build(
        IReadOnlyList<FunctionDefinition> functions,
        IReadOnlyList<NodeView> nodes,
        IReadOnlyList<InstanceView> instances,
        IReadOnlySet<string> awaited,
        IReadOnlySet<string> uncounted,
        Func<string, IReadOnlyDictionary<string, WorkloadStats>> stats,
        Func<string, int> gatewayInFlight,
        HealthDecision? health,
        IReadOnlySet<string> penalised,
        IReadOnlyDictionary<string, string> gpuOf,
        IReadOnlyDictionary<string, ScalingPrevious> previous,
        TimeSpan elapsed,
        AggregatorOptions options)
    {
        var serving = health?.Shares.Where(s => s.Share > 0).Select(s => s.Cluster).ToHashSet(StringComparer.Ordinal);
        var scalingNodes = nodes.Select(n => new ScalingNode(
            n.NodeId,
            n.Identity.Cluster,
            n.Identity.ServerNumber,
            ScalingRules.MayTakeInstances(n.Survives(options), n.Identity.Cluster, serving, penalised.Contains(n.NodeId)),
            n.Priority,
            n.Weight,
            n.Gpus.Gpus.Select(g => new ScalingGpu(
                g.Uuid,
                g.Health is GpuHealthState.Ok or GpuHealthState.Degraded,
                (long)Math.Min(g.MemoryFreeBytes, long.MaxValue),
                (int)Math.Clamp(Math.Ceiling(g.CommandQueueLength), 0, int.MaxValue),
                (int)Math.Min(g.UtilizationGpuPercent, 100),
                Degraded: g.Health == GpuHealthState.Degraded)).ToArray())).ToArray();

        var live = nodes.Where(n => n.Survival != NodeSurvival.Lost).Select(n => n.NodeId).ToHashSet(StringComparer.Ordinal);
        live.UnionWith(awaited);
        var names = functions.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        var perFunction = functions.ToDictionary(f => f.Name, f => stats(f.Name), StringComparer.Ordinal);
        var scalingInstances = instances
            .Where(i => names.Contains(i.Function) && live.Contains(i.AssignedNodeId) && !uncounted.Contains(i.InstanceId))
            .Select(i => new ScalingInstance(
                i.InstanceId,
                i.Function,
                i.AssignedNodeId,
                gpuOf.GetValueOrDefault(i.InstanceId),
                Starting: !i.Ready,
                InFlight: perFunction[i.Function].TryGetValue(i.AssignedNodeId, out var s) ? (int)s.InFlight : 0,
                Awaited: awaited.Contains(i.AssignedNodeId)))
            .ToArray();

        var queues = functions.ToDictionary(
            f => f.Name,
            f => ScalingRules.RequestQueueLength(
                perFunction[f.Name].Select(s => (!live.Contains(s.Key), (long)s.Value.Queued, (long)s.Value.InFlight)),
                gatewayInFlight(f.Name)),
            StringComparer.Ordinal);

        var scalingFunctions = functions.Select(f => new ScalingFunction(
            f.Name,
            f.Slo,
            f.Margin,
            f.MinInstances,
            f.MaxInstances ?? f.MinInstances,
            f.GpuMemoryBytes,
            TimeSpan.FromSeconds(f.ScaleDownWindowSeconds))).ToArray();

        return new ScalingSnapshot(scalingFunctions, scalingNodes, scalingInstances, queues, previous, elapsed);
    }
}
