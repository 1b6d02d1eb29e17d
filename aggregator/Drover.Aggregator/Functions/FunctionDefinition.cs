using System.Text.Json.Serialization;
using Drover.Aggregator.Workloads;

namespace Drover.Aggregator.Functions;

/// <summary>
/// A function as defined through <c>PUT /v1/functions/{name}</c> (camelCase JSON). <c>GET</c> returns
/// the same shape, so a client can read, change and write it back.
/// </summary>
internal sealed record FunctionDefinition : IShimSettings
{
    /// <summary>The function's name (from the URL): 1-63 characters of a-z 0-9 -.</summary>
    public string Name { get; init; } = "";

    /// <summary>The function's version; changing it replaces every instance's process, keeping state.</summary>
    public string Version { get; init; } = "1";

    /// <summary>How each instance runs.</summary>
    public ProcessRuntimeDefinition Runtime { get; init; } = new();

    /// <summary>How often each instance's state directory is committed (0 = never).</summary>
    public int CommitIntervalSeconds { get; init; } = 10;

    /// <summary>
    /// Where instances run: <c>every-node</c>, one instance on every surviving node, or <c>autoscale</c>,
    /// <c>ceil(queue / slo) + margin</c> instances within <c>[minInstances, maxInstances]</c> on the GPUs
    /// with the shortest command queues. Null (not given) is <c>autoscale</c> when <see cref="MaxInstances"/>
    /// is given, else <c>every-node</c> (<see cref="WithDefaults"/>).
    /// </summary>
    public string? Placement { get; init; }

    /// <summary>Instances added above <c>ceil(queue / slo)</c> (autoscale): 0-1000.</summary>
    public int Margin { get; init; }

    /// <summary>The fewest instances it runs (autoscale): 0-10000.</summary>
    public int MinInstances { get; init; } = 1;

    /// <summary>The most instances it runs (autoscale, where it is required): 1-10000.</summary>
    public int? MaxInstances { get; init; }

    /// <summary>The free GPU memory one instance needs on the GPU it is placed on (autoscale).</summary>
    public long GpuMemoryBytes { get; init; }

    /// <summary>How long the desired count must stay lower before instances stop (autoscale): 0-86400.</summary>
    public int ScaleDownWindowSeconds { get; init; } = 60;

    /// <summary>
    /// The GPUs instances are placed on (autoscale; <see cref="Drover.Decisions.Scaling.GpuRequest.TryParse"/> reads it):
    /// <c>any</c> (a whole GPU or a MIG instance), <c>whole</c> (whole GPUs only), <c>mig</c> (any MIG instance) or
    /// <c>mig:&lt;profile&gt;</c> (MIG instances of that profile). A definition stored before this field loads as <c>any</c>.
    /// </summary>
    public string Gpu { get; init; } = "any";

    /// <summary>
    /// The service whose containers this function's instances go with, by co-location (issue 18): each instance is
    /// associated with the service's container on the same node (<c>scope: node</c>, the default) or at the same site
    /// (<c>scope: site</c>: a node's <c>site</c> label, else its cluster), and the two load-balancing tables are kept in
    /// step. Null: none.
    /// </summary>
    public ColocationDefinition? ColocateWith { get; init; }

    /// <summary>
    /// The database shard the function's instances use (issue 18): each instance is associated with the container of
    /// the same shard (a service's <c>dbShard</c>, or a registered balancer's server's). Null: none.
    /// </summary>
    public string? DbShard { get; init; }

    /// <summary>
    /// Run each instance with the CUDA launch probe preloaded (issue 20): the agent then measures the command queue of the
    /// GPUs its processes use (<c>commandQueueSource: measured</c>) instead of estimating it. Default false.
    /// </summary>
    public bool GpuProbe { get; init; }

    /// <summary>Whether the autoscaler decides how many instances run and where.</summary>
    [JsonIgnore]
    public bool Autoscaled => WithDefaults().Placement == FunctionPlacements.Autoscale;

    /// <summary>The definition with an unset <see cref="Placement"/> filled in from <see cref="MaxInstances"/>.</summary>
    public FunctionDefinition WithDefaults()
        => Placement is null ? this with { Placement = MaxInstances is null ? FunctionPlacements.EveryNode : FunctionPlacements.Autoscale } : this;

    /// <inheritdoc/>
    public string ShimMode { get; init; } = "http";

    /// <inheritdoc/>
    public int Slo { get; init; } = 1;

    /// <inheritdoc/>
    public int QueueLength { get; init; } = 64;

    /// <inheritdoc/>
    public int TimeoutMs { get; init; } = 30_000;

    /// <inheritdoc/>
    public IReadOnlyList<string> EventHeaders { get; init; } = [];

    /// <inheritdoc/>
    public string HealthPath { get; init; } = "";

    /// <inheritdoc/>
    public bool Public { get; init; }
}
