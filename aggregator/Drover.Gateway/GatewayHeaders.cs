namespace Drover.Gateway;

/// <summary>The headers the gateway reads and adds.</summary>
internal static class GatewayHeaders
{
    /// <summary>The chosen node's cluster, on every forwarded response.</summary>
    public const string Cluster = "X-Drover-Cluster";

    /// <summary><c>true</c> while no cluster is healthy and the table serves fail-open.</summary>
    public const string Degraded = "X-Drover-Degraded";

    /// <summary>The node that served; set by the node's shim, added by the gateway when the shim's response lacks it.</summary>
    public const string Node = "X-Drover-Node";

    /// <summary>The instance that served; set by the shim.</summary>
    public const string Instance = "X-Drover-Instance";

    /// <summary>A client's promise that sending the request twice is safe: such a request is retried whatever its method.</summary>
    public const string IdempotencyKey = "Idempotency-Key";
}
