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

    /// <summary>Where instances run: <c>every-node</c>, one instance on every surviving node.</summary>
    public string Placement { get; init; } = "every-node";

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
}
