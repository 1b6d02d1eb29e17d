namespace Drover.Aggregator.Services;

/// <summary>The request field a service routes by: a header, or a top-level field of a JSON body (exactly one).</summary>
internal sealed record RoutingFieldDefinition
{
    public string? Header { get; init; }

    public string? JsonField { get; init; }
}
