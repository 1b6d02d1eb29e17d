namespace Drover.Decisions.Scaling;

/// <summary>A function as the autoscaler sees it: its definition's scaling settings (validated by the caller).</summary>
/// <param name="Name">The function's name.</param>
/// <param name="Slo">The most requests one instance serves at once; at least 1.</param>
/// <param name="Margin">Instances added above <c>ceil(queue / SLO)</c>.</param>
/// <param name="MinInstances">The fewest instances it runs, whatever its queue.</param>
/// <param name="MaxInstances">The most instances it runs, whatever its queue.</param>
/// <param name="GpuMemoryBytes">The free GPU memory a new instance needs on the GPU it is placed on.</param>
/// <param name="ScaleDownWindow">
/// How long the desired count must stay below the current one before instances stop; null for
/// <see cref="Autoscaler.DefaultScaleDownWindow"/> (60 s); zero scales down at once.
/// </param>
/// <param name="Gpu">The GPUs its instances may be placed on: whole GPUs, MIG instances (of one profile), or either (the default).</param>
public sealed record ScalingFunction(
    string Name,
    int Slo,
    int Margin,
    int MinInstances,
    int MaxInstances,
    long GpuMemoryBytes,
    TimeSpan? ScaleDownWindow = null,
    GpuRequest Gpu = default);

/// <summary>One GPU of a node, from the node's latest telemetry.</summary>
/// <param name="Uuid">The GPU's UUID.</param>
/// <param name="Healthy">
/// May be placed on: its agent reports it ok or degraded. A GPU that is lost, unhealthy (a reset
/// required, a hardware XID, NVML errors) or on a node without telemetry is not, and is never placed on.
/// </param>
/// <param name="MemoryFreeBytes">
/// Free memory as the caller counts it: NVML's figure, less what instances started on it and not yet
/// loaded will take, when the caller reserves that.
/// </param>
/// <param name="CommandQueueLength">GPU work submitted and not yet completed, as reported or estimated (an estimate keeps its fraction: 0.2 is not a queued kernel).</param>
/// <param name="UtilizationPercent">NVML's GPU utilization, 0-100.</param>
/// <param name="Degraded">
/// Placeable but not sound (one NVML UNKNOWN answer, an XID on neither list): it ranks after every GPU
/// that is not, whatever its load, since its zero queue and free memory may be a broken GPU's zeros.
/// </param>
/// <param name="QueueSource">Where <paramref name="CommandQueueLength"/> comes from: a measured queue is preferred to an estimated one, and an unknown one ranks last.</param>
/// <param name="MigProfile">
/// Null for a whole GPU; set for a MIG instance, placed on as a GPU of its own: its profile ("1g.10gb"), or ""
/// when the driver named none. A MIG-enabled GPU is not placed on itself: the caller passes it not
/// <paramref name="Healthy"/>, and its MIG instances as GPUs of their own.
/// </param>
public sealed record ScalingGpu(
    string Uuid,
    bool Healthy,
    long MemoryFreeBytes,
    double CommandQueueLength,
    int UtilizationPercent,
    bool Degraded = false,
    QueueSource QueueSource = QueueSource.Estimated,
    string? MigProfile = null);

/// <summary>Where a GPU's command-queue length comes from, in the order placement prefers them.</summary>
public enum QueueSource
{
    /// <summary>Counted by the CUDA launch probe in its instances' processes: launches submitted minus completed.</summary>
    Measured,

    /// <summary>Counted by its instances: work submitted minus work completed.</summary>
    Reported,

    /// <summary>Estimated from NVML: running processes weighted by utilization.</summary>
    Estimated,

    /// <summary>Neither: the length means nothing.</summary>
    Unknown,
}

/// <summary>A node as the autoscaler sees it.</summary>
/// <param name="NodeId">The node's id.</param>
/// <param name="Cluster">Its cluster.</param>
/// <param name="ServerNumber">Its number in the cluster.</param>
/// <param name="Eligible">
/// May receive new instances; the caller decides: a surviving node of a healthy cluster or of a backup
/// target the health decision names, not penalised for a failed start.
/// </param>
/// <param name="Priority">Lower is preferred among otherwise equal GPUs.</param>
/// <param name="Weight">0-1000: higher is preferred among otherwise equal GPUs and priorities.</param>
/// <param name="Gpus">Its GPUs, in the node's own (NVML index) order.</param>
public sealed record ScalingNode(
    string NodeId,
    string Cluster,
    int ServerNumber,
    bool Eligible,
    int Priority,
    int Weight,
    IReadOnlyList<ScalingGpu> Gpus);

/// <summary>An instance of a function that serves or is starting (instances draining or stopping are not passed).</summary>
/// <param name="InstanceId">The instance.</param>
/// <param name="Function">Its function.</param>
/// <param name="NodeId">The node it runs on.</param>
/// <param name="GpuUuid">The GPU it runs on; null when unknown.</param>
/// <param name="Starting">Placed and not yet ready: it counts as capacity, so a slow GPU start does not cause more starts.</param>
/// <param name="InFlight">Requests it is serving now.</param>
/// <param name="Awaited">
/// On a node a restarted aggregator still waits for (its assignment was loaded from the store): it
/// counts as capacity, so no empty instance is started in its place, and it is never chosen to stop,
/// since nothing is known of its node yet.
/// </param>
public sealed record ScalingInstance(
    string InstanceId,
    string Function,
    string NodeId,
    string? GpuUuid,
    bool Starting,
    int InFlight,
    bool Awaited = false);

/// <summary>What the previous pass left for one function: the scale-down window's progress.</summary>
/// <param name="BelowFor">
/// How long the desired count has been below the current one without a break (zero on the first pass
/// below); null when it is not below.
/// </param>
public sealed record ScalingPrevious(TimeSpan? BelowFor);

/// <summary>The snapshot one scaling and placement pass decides on.</summary>
/// <param name="Functions">Every defined function.</param>
/// <param name="Nodes">Every known node, eligible or not (an instance's GPU is looked up here).</param>
/// <param name="Instances">The functions' instances that serve or are starting.</param>
/// <param name="QueueLengths">
/// Each function's request queue length: queued and in-flight requests over its nodes' shims plus what the
/// gateway holds for it. A function not listed has none.
/// </param>
/// <param name="Previous">The previous pass's <see cref="ScalingResult.Previous"/>; a function not listed was not below.</param>
/// <param name="Elapsed">Time since the previous pass (added to <see cref="ScalingPrevious.BelowFor"/>).</param>
public sealed record ScalingSnapshot(
    IReadOnlyList<ScalingFunction> Functions,
    IReadOnlyList<ScalingNode> Nodes,
    IReadOnlyList<ScalingInstance> Instances,
    IReadOnlyDictionary<string, int> QueueLengths,
    IReadOnlyDictionary<string, ScalingPrevious> Previous,
    TimeSpan Elapsed);

/// <summary>A new instance to start: the node and the GPU, and the candidate's rank.</summary>
/// <param name="NodeId">The node.</param>
/// <param name="GpuUuid">The GPU on it.</param>
/// <param name="Rank">The candidate's rank in the pass (1 is best).</param>
public sealed record ScalingStart(string NodeId, string GpuUuid, int Rank);

/// <summary>An instance to stop. The actuator drains its requests first.</summary>
/// <param name="InstanceId">The instance.</param>
/// <param name="NodeId">Its node.</param>
/// <param name="GpuUuid">Its GPU, when known.</param>
/// <param name="InFlight">The requests it was serving when chosen (zero unless every equally ranked one was busy).</param>
public sealed record ScalingStop(string InstanceId, string NodeId, string? GpuUuid, int InFlight);

/// <summary>
/// A ranked placement candidate: a node's best GPU with enough free memory, as it stood when chosen, with where its
/// command-queue length came from (<paramref name="QueueSource"/>), so a record says whether it was measured.
/// </summary>
public sealed record ScalingCandidate(
    string NodeId,
    string GpuUuid,
    double CommandQueueLength,
    int UtilizationPercent,
    long MemoryFreeBytes,
    int Priority,
    int Weight,
    int Rank,
    QueueSource QueueSource = QueueSource.Estimated);

/// <summary>One function's scaling decision: its inputs, what changes, and why.</summary>
/// <param name="Function">The function.</param>
/// <param name="QueueLength">Its request queue length.</param>
/// <param name="Slo">Its SLO.</param>
/// <param name="Margin">Its margin.</param>
/// <param name="MinInstances">Its lower bound.</param>
/// <param name="MaxInstances">Its upper bound.</param>
/// <param name="Formula"><c>ceil(queue / SLO) + margin</c>, before the bounds.</param>
/// <param name="Desired">The formula's result within <c>[min, max]</c>.</param>
/// <param name="Current">Instances that serve or are starting.</param>
/// <param name="Starting">Of those, the ones starting.</param>
/// <param name="Starts">New instances, best candidate first.</param>
/// <param name="Stops">Instances to stop, worst-ranked first.</param>
/// <param name="Shortfall">Instances wanted that no candidate could take.</param>
/// <param name="Candidates">The best candidates of the placement (the chosen ones and a few more); empty when nothing starts.</param>
/// <param name="BelowFor">The scale-down window's state after this pass (also in <see cref="ScalingResult.Previous"/>).</param>
/// <param name="Changed">Whether anything starts or stops.</param>
/// <param name="Reason">Why, in one line with the numbers.</param>
public sealed record ScalingDecision(
    string Function,
    int QueueLength,
    int Slo,
    int Margin,
    int MinInstances,
    int MaxInstances,
    int Formula,
    int Desired,
    int Current,
    int Starting,
    IReadOnlyList<ScalingStart> Starts,
    IReadOnlyList<ScalingStop> Stops,
    int Shortfall,
    IReadOnlyList<ScalingCandidate> Candidates,
    TimeSpan? BelowFor,
    bool Changed,
    string Reason);

/// <summary>One pass's outcome.</summary>
/// <param name="Decisions">
/// A decision for every function that starts or stops instances, falls short, or waits out its
/// scale-down window, ordered by function name; a function at its desired count has none.
/// </param>
/// <param name="Previous">The window state to pass to the next pass: only the functions whose window runs.</param>
public sealed record ScalingResult(
    IReadOnlyList<ScalingDecision> Decisions,
    IReadOnlyDictionary<string, ScalingPrevious> Previous);
