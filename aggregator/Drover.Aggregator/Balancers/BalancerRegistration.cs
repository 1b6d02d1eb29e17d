namespace Drover.Aggregator.Balancers;

/// <summary>
/// A balancer registered through <c>PUT /v1/balancers/{name}</c> (camelCase JSON): an HAProxy whose backend balances
/// the containers of a service, read and written through its Runtime API. Its table is
/// <c>GET /v1/lb/services/{service}</c>; <c>GET /v1/balancers/{name}</c> adds its last contact.
/// </summary>
internal sealed record BalancerRegistration
{
    /// <summary>The only kind: HAProxy, through its Runtime API.</summary>
    public const string Haproxy = "haproxy";

    /// <summary>The registration's name (from the URL): 1-63 characters of a-z 0-9 -.</summary>
    public string Name { get; init; } = "";

    /// <summary><see cref="Haproxy"/>.</summary>
    public string Kind { get; init; } = "";

    /// <summary>Where its Runtime API is: <c>unix:/path/to/haproxy.sock</c> or <c>tcp:127.0.0.1:9999</c>, at level admin.</summary>
    public string RuntimeApi { get; init; } = "";

    /// <summary>The HAProxy backend whose servers are the service's containers.</summary>
    public string Backend { get; init; } = "";

    /// <summary>The service those containers are: what a function's <c>colocateWith.service</c> names.</summary>
    public string Service { get; init; } = "";

    /// <summary>
    /// The backend's balance algorithm as configured in HAProxy (default <c>roundrobin</c>): HAProxy's Runtime API
    /// neither shows nor changes it, so it is declared here, and shown as the table's policy.
    /// </summary>
    public string Policy { get; init; } = "roundrobin";

    /// <summary>
    /// Where each server (by its name in the backend) runs and what it serves, for the associations: its node (a node
    /// id), its site, its database shard. A server left out is placed on the node whose address is the server's, when
    /// exactly one node has it, and has no site or shard of its own.
    /// </summary>
    public IReadOnlyDictionary<string, BalancerServerPlacement> Servers { get; init; } = new Dictionary<string, BalancerServerPlacement>(StringComparer.Ordinal);
}

/// <summary>Where one of a balancer's servers runs and what it serves; each field optional.</summary>
internal sealed record BalancerServerPlacement
{
    /// <summary>The node id it runs on.</summary>
    public string? Node { get; init; }

    /// <summary>Its site; unset: its node's site (the node's <c>site</c> label, else its cluster).</summary>
    public string? Site { get; init; }

    /// <summary>The database shard it serves.</summary>
    public string? DbShard { get; init; }
}
