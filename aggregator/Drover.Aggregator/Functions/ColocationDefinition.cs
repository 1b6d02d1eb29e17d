namespace Drover.Aggregator.Functions;

/// <summary>A function's <c>colocateWith</c>: the service whose containers its instances go with, and how near.</summary>
internal sealed record ColocationDefinition
{
    /// <summary><c>node</c>: the same node.</summary>
    public const string NodeScope = "node";

    /// <summary><c>site</c>: the same site (a node's <c>site</c> label, else its cluster).</summary>
    public const string SiteScope = "site";

    /// <summary>The service's name: a Drover service, or the service a registered balancer serves.</summary>
    public string Service { get; init; } = "";

    /// <summary><see cref="NodeScope"/> (default) or <see cref="SiteScope"/>.</summary>
    public string Scope { get; init; } = NodeScope;
}
