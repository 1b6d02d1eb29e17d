using Drover.Decisions.Placement;
using Drover.Decisions.Scaling;

namespace Drover.Decisions.Reconcile;

/// <summary>A node as one pass sees it.</summary>
/// <param name="NodeId">The node.</param>
/// <param name="Cluster">Its cluster.</param>
/// <param name="ServerNumber">Its server number (placement's order within a cluster).</param>
/// <param name="Survives">Whether it counts as surviving (heartbeats within the lease, not draining).</param>
/// <param name="Lost">Whether liveness declared it lost.</param>
/// <param name="Connected">Whether its stream is open now (follow-up sends only to connected nodes).</param>
/// <param name="Priority">Its priority (the autoscaler's tie-break).</param>
/// <param name="Weight">Its weight (the autoscaler's tie-break).</param>
/// <param name="Gpus">Its GPUs as last reported.</param>
public sealed record ReconcileNode(
    string NodeId,
    string Cluster,
    int ServerNumber,
    bool Survives,
    bool Lost,
    bool Connected,
    int Priority,
    int Weight,
    IReadOnlyList<ScalingGpu> Gpus);

/// <summary>Something the pass keeps instances of: a function, an autoscaled function, or one set of a service.</summary>
/// <param name="Key">Its key in the instance table.</param>
/// <param name="Version">The version its instances run.</param>
/// <param name="Fingerprint">Its instances' settings as they stand (a changed one within a version is resent).</param>
/// <param name="Instances">How many instances placement keeps: null for one on every surviving node. Ignored for an autoscaled function.</param>
/// <param name="Scaling">Set for an autoscaled function: the autoscaler decides its count.</param>
/// <param name="DrainTimeout">How long an instance it stops may finish its requests; null to stop at once.</param>
public sealed record ReconcileWorkload(
    string Key,
    string Version,
    string Fingerprint,
    int? Instances,
    ScalingFunction? Scaling = null,
    TimeSpan? DrainTimeout = null);

/// <summary>An instance as one pass sees it: its assignment and what its node last reported.</summary>
/// <param name="InstanceId">The instance.</param>
/// <param name="Workload">Its workload's key.</param>
/// <param name="NodeId">The node it is assigned to.</param>
/// <param name="HomeCluster">The cluster it was first placed in (failback); null when unknown.</param>
/// <param name="AssignedOrder">The order of its assignment (older first): which stranded instance resumes first.</param>
/// <param name="SinceAssigned">How long ago it was assigned.</param>
/// <param name="Confirmed">Whether its node reported it since.</param>
/// <param name="Failed">Whether its node reported it failed.</param>
/// <param name="FailureReason">Its node's reason, when it failed.</param>
/// <param name="MayHoldState">Whether it may hold state (committed some, was moved, or was loaded after a restart).</param>
/// <param name="Loaded">Loaded from the store at start and neither assigned again nor reported since.</param>
/// <param name="Ready">Whether its node reports it ready to serve.</param>
/// <param name="ReportedVersion">The version its node reports it runs; empty before a report.</param>
/// <param name="GpuUuid">The GPU it runs on, where known.</param>
public sealed record ReconcileInstance(
    string InstanceId,
    string Workload,
    string NodeId,
    string? HomeCluster,
    long AssignedOrder,
    TimeSpan SinceAssigned,
    bool Confirmed,
    bool Failed,
    string FailureReason,
    bool MayHoldState,
    bool Loaded,
    bool Ready,
    string ReportedVersion,
    string? GpuUuid);

/// <summary>An instance that runs on where it is no longer assigned.</summary>
public sealed record ReconcileStaleCopy(string InstanceId, string NodeId, string Workload);

/// <summary>A stop of an instance removed for good that its node has not acknowledged.</summary>
public sealed record ReconcilePendingStop(string InstanceId, string NodeId, string Workload, bool DeleteState);

/// <summary>What one node's shim holds for a function: requests waiting, and requests being served.</summary>
public sealed record NodeLoad(long Queued, long InFlight);

/// <summary>An autoscaled function's load: its shims' counters per node, and what the gateway holds and has not forwarded.</summary>
public sealed record FunctionLoad(IReadOnlyDictionary<string, NodeLoad> PerNode, long GatewayHeld);

/// <summary>Everything one pass decides on; taken once, never read again from the live tables during the pass.</summary>
/// <param name="Nodes">Every known node.</param>
/// <param name="Workloads">Every workload defined now.</param>
/// <param name="Instances">Every instance assigned now.</param>
/// <param name="StaleCopies">Copies running where their instance is not assigned.</param>
/// <param name="PendingStops">Stops not yet acknowledged.</param>
/// <param name="Loads">Each autoscaled function's load.</param>
/// <param name="ServingClusters">The clusters the health decision gives a share of traffic; null before the first decision (every surviving node may serve).</param>
/// <param name="Backups">Each cluster's backups in order (<see cref="Health.BackupOrder"/>).</param>
/// <param name="AwaitedCandidates">The nodes of the assignments loaded at start (<see cref="Liveness.RestartGrace"/>).</param>
/// <param name="SinceLoad">How long ago the assignments were loaded.</param>
/// <param name="RestartGrace">How long those nodes have to come back.</param>
/// <param name="Elapsed">Time since the previous pass; zero for the first.</param>
/// <param name="ConfirmTimeout">How long an assignment may wait for its node's report.</param>
public sealed record ReconcileSnapshot(
    IReadOnlyList<ReconcileNode> Nodes,
    IReadOnlyList<ReconcileWorkload> Workloads,
    IReadOnlyList<ReconcileInstance> Instances,
    IReadOnlyList<ReconcileStaleCopy> StaleCopies,
    IReadOnlyList<ReconcilePendingStop> PendingStops,
    IReadOnlyDictionary<string, FunctionLoad> Loads,
    IReadOnlySet<string>? ServingClusters,
    IReadOnlyDictionary<string, IReadOnlyList<string>>? Backups,
    IReadOnlyCollection<string> AwaitedCandidates,
    TimeSpan SinceLoad,
    TimeSpan RestartGrace,
    TimeSpan Elapsed,
    TimeSpan ConfirmTimeout);

/// <summary>
/// What one pass leaves the next: everything the rules remember between passes, explicit. The host
/// keeps it (and stores <see cref="Penalties"/> and <see cref="Windows"/>, so they outlive a restart);
/// the rest is about not repeating a send or a log line, and starts empty after a restart.
/// </summary>
/// <param name="Handed">The settings each workload's instances were last handed (<see cref="SettingsFollowUp"/>).</param>
/// <param name="Windows">The autoscaler's scale-down windows.</param>
/// <param name="Penalties">Penalised nodes, each with the time its penalty still runs (<see cref="NodePenalty"/>).</param>
/// <param name="SinceSent">How long ago each follow-up send went: <c>instance</c>, <c>stop:instance</c>, <c>stale:instance:node</c>.</param>
/// <param name="ShortfallRecorded">The shortfall last recorded per autoscaled function.</param>
/// <param name="ShortfallsLogged">Placement shortfalls already logged (once while each lasts).</param>
/// <param name="FailuresLogged">Failed starts already logged (once while each lasts).</param>
public sealed record ReconcileMemory(
    IReadOnlyDictionary<string, HandedSettings> Handed,
    IReadOnlyDictionary<string, ScalingPrevious> Windows,
    IReadOnlyDictionary<string, TimeSpan> Penalties,
    IReadOnlyDictionary<string, TimeSpan> SinceSent,
    IReadOnlyDictionary<string, int> ShortfallRecorded,
    IReadOnlySet<string> ShortfallsLogged,
    IReadOnlySet<string> FailuresLogged)
{
    /// <summary>Nothing remembered: a first pass.</summary>
    public static ReconcileMemory Empty { get; } = Start(new Dictionary<string, ScalingPrevious>(StringComparer.Ordinal), NodePenalty.None);

    /// <summary>A first pass's memory with what a store kept: scale-down windows and penalties.</summary>
    public static ReconcileMemory Start(IReadOnlyDictionary<string, ScalingPrevious> windows, IReadOnlyDictionary<string, TimeSpan> penalties) => new(
        new Dictionary<string, HandedSettings>(StringComparer.Ordinal),
        windows,
        penalties,
        new Dictionary<string, TimeSpan>(StringComparer.Ordinal),
        new Dictionary<string, int>(StringComparer.Ordinal),
        new HashSet<string>(StringComparer.Ordinal),
        new HashSet<string>(StringComparer.Ordinal));
}

/// <summary>What a pass asks the actuator to do, or to record.</summary>
public enum ReconcileActionKind
{
    /// <summary>Start a new instance of the workload on <see cref="ReconcileAction.ToNodeId"/> (on <see cref="ReconcileAction.GpuUuid"/> when set).</summary>
    Start,

    /// <summary>Resume the instance on <see cref="ReconcileAction.ToNodeId"/> from its last committed state.</summary>
    Move,

    /// <summary>
    /// Stop the instance for good (its state deleted), after a drain of <see cref="ReconcileAction.Drain"/>;
    /// with <see cref="ReconcileAction.RoutesFirst"/>, only once it is out of a service's routes.
    /// </summary>
    Stop,

    /// <summary>Stop an instance whose workload is gone, with that workload's drain as the actuator knows it.</summary>
    StopDeleted,

    /// <summary>Stop a stale copy on <see cref="ReconcileAction.FromNodeId"/>, keeping its state.</summary>
    StopStaleCopy,

    /// <summary>Send a pending stop again.</summary>
    ResendStop,

    /// <summary>Send an unconfirmed or outdated instance its start again.</summary>
    Resend,

    /// <summary>Send a running instance its workload's changed settings.</summary>
    ResendSettings,

    /// <summary>Record an autoscaling decision (<see cref="ReconcileAction.Scaling"/>).</summary>
    RecordScaling,

    /// <summary>Log a placement shortfall (once while it lasts).</summary>
    LogShortfall,

    /// <summary>Log a failed start and the penalty of its node (once while it lasts).</summary>
    LogStartFailed,
}

/// <summary>One action of a pass.</summary>
/// <param name="Kind">What to do.</param>
/// <param name="Workload">The workload's key.</param>
/// <param name="InstanceId">The instance; null for a new one and for a shortfall of a whole workload.</param>
/// <param name="FromNodeId">The node it leaves or is stopped on.</param>
/// <param name="ToNodeId">The node it goes to.</param>
/// <param name="Reason">Why, in words, for the decision record and the log.</param>
/// <param name="GpuUuid">The GPU a start or move chose.</param>
/// <param name="Drain">How long a stop lets the instance finish its requests.</param>
/// <param name="RoutesFirst">A stop waits until the instance is out of its service's routes.</param>
/// <param name="Scaling">The scaling decision to record.</param>
public sealed record ReconcileAction(
    ReconcileActionKind Kind,
    string Workload,
    string? InstanceId,
    string? FromNodeId,
    string? ToNodeId,
    string Reason,
    string? GpuUuid = null,
    TimeSpan? Drain = null,
    bool RoutesFirst = false,
    ScalingDecision? Scaling = null);

/// <summary>A pass's outcome: the actions in order, the memory for the next pass, and each autoscaled function's desired count.</summary>
public sealed record ReconcileResult(
    IReadOnlyList<ReconcileAction> Actions,
    ReconcileMemory Memory,
    IReadOnlyDictionary<string, int> Desired);
