namespace Drover.Protocol.Http;

/// <summary>
/// The HTTP headers the gateway, the nodes' shims and clients exchange: one list, so a shim and the
/// gateway can never spell one differently.
/// </summary>
public static class DroverHeaders
{
    /// <summary>The call's id, the client's or a new one: every status message of the call carries it.</summary>
    public const string CallId = "X-Drover-Call-Id";

    /// <summary>How long the client lets the call take, in milliseconds, bounded by the workload's own limit.</summary>
    public const string TimeoutMs = "X-Drover-Timeout-Ms";

    /// <summary>The node that served; set by the node's shim, added by the gateway when the shim's response lacks it.</summary>
    public const string Node = "X-Drover-Node";

    /// <summary>The instance that served; set by the shim.</summary>
    public const string Instance = "X-Drover-Instance";

    /// <summary>Set by a node that forwards a service request to another node: only that instance may serve it.</summary>
    public const string RouteInstance = "X-Drover-Route-Instance";

    /// <summary>
    /// The fleet's shim credential (sent to every agent in its Welcome, over the link): a shim that
    /// forwards a request to another node's shim proves with it that the routing headers are a
    /// Drover component's, not a client's. Never forwarded to an instance.
    /// </summary>
    public const string ShimCredential = "X-Drover-Shim-Credential";

    /// <summary>
    /// A caller's key for one function or service (<c>POST /v1/keys</c>): what an invocation of a
    /// workload that is not <c>public</c> must carry, at the gateway or at a node's shim. Never
    /// forwarded to an instance.
    /// </summary>
    public const string ApiKey = "X-Drover-Api-Key";

    /// <summary>The chosen node's cluster, on every response the gateway forwards.</summary>
    public const string Cluster = "X-Drover-Cluster";

    /// <summary><c>true</c> while no cluster is healthy and the gateway's table serves fail-open.</summary>
    public const string Degraded = "X-Drover-Degraded";

    /// <summary>A client's promise that sending the request twice is safe: such a request is retried whatever its method.</summary>
    public const string IdempotencyKey = "Idempotency-Key";
}
