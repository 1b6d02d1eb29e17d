namespace Drover.Gateway;

/// <summary>The body of an answer the gateway gives itself: 503 (no node can serve) and 502/504 (the node failed).</summary>
/// <param name="Error"><c>unavailable</c>, <c>bad-gateway</c> or <c>gateway-timeout</c>.</param>
/// <param name="Reason">Why, in one sentence.</param>
/// <param name="NodeId">The node that failed last (502/504).</param>
/// <param name="Nodes">Every node that failed the request, in order (502/504).</param>
internal sealed record GatewayError(
    string Error,
    string Reason,
    string? NodeId = null,
    IReadOnlyList<string>? Nodes = null);
