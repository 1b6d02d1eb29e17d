namespace Drover.Aggregator.Services;

/// <summary>
/// A service as the aggregator keeps it (persisted): the definition asked for, the sets that exist
/// (one per version, each with the definition it was created from), and the set traffic goes to.
/// </summary>
internal sealed record ServiceState
{
    public ServiceDefinition Definition { get; init; } = new();

    /// <summary>The version of the set traffic goes to; null before any set was ready.</summary>
    public string? ActiveVersion { get; init; }

    /// <summary>The sets, by version: the active one, one being deployed, and ones retiring.</summary>
    public IReadOnlyList<ServiceDefinition> Sets { get; init; } = [];
}
