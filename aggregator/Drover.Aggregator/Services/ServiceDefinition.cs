using Drover.Aggregator.Functions;
using Drover.Aggregator.Workloads;

namespace Drover.Aggregator.Services;

/// <summary>
/// A service as defined through <c>PUT /v1/services/{name}</c> (camelCase JSON): a set of instances of
/// one version, each behind its node's shim. <c>GET</c> returns the same shape with its live status.
/// </summary>
internal sealed record ServiceDefinition : IShimSettings
{
    /// <summary>The service's name (from the URL): 1-63 characters of a-z 0-9 -.</summary>
    public string Name { get; init; } = "";

    /// <summary>The version; a new one is deployed blue/green as a set of its own.</summary>
    public string Version { get; init; } = "1";

    /// <summary>How each instance runs.</summary>
    public ProcessRuntimeDefinition Runtime { get; init; } = new();

    /// <summary>How many instances the set has, spread over the surviving nodes.</summary>
    public int InstanceCount { get; init; } = 1;

    /// <summary>When set, requests are routed by this field's value, hashed consistently over the set.</summary>
    public RoutingFieldDefinition? RoutingField { get; init; }

    /// <summary><c>least-in-flight</c> or <c>power-of-two-choices</c>: how an instance is chosen otherwise.</summary>
    public string Policy { get; init; } = "least-in-flight";

    /// <summary>
    /// The database shard the service's containers serve (issue 18): a function with the same <c>dbShard</c> is
    /// associated with them and their load-balancing tables kept in step. Null: none.
    /// </summary>
    public string? DbShard { get; init; }

    /// <summary>Run each instance with the CUDA launch probe preloaded, as a function's <c>gpuProbe</c> does. Default false.</summary>
    public bool GpuProbe { get; init; }

    /// <summary>How long a replaced set's instances may take to finish their requests before they stop.</summary>
    public int DrainTimeoutMs { get; init; } = 30_000;

    /// <summary>How often each instance's state directory is committed (0 = never).</summary>
    public int CommitIntervalSeconds { get; init; } = 10;

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
