using Drover.Decisions.Routing;

namespace Drover.Aggregator.Balancers;

/// <summary>
/// The node weights the coordinated load-balancing tables give the gateway (<see cref="RoutingTable.Weights"/>): written
/// by <see cref="LoadBalancingCoordinator"/>, read by the health monitor when it builds the routing table.
/// </summary>
internal sealed class GatewayWeights
{
    private volatile IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> _current = RoutingTable.NoWeights;

    /// <summary>Raised after <see cref="Set"/> changed them: the routing table should be built again.</summary>
    public event Action? Changed;

    /// <summary>Per workload (a function's name, <c>service/&lt;name&gt;</c>), each hosting node's weight.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> Current => _current;

    /// <summary>Replaces the weights when they differ; true (and <see cref="Changed"/> raised) when they did.</summary>
    public bool Set(IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> next)
    {
        ArgumentNullException.ThrowIfNull(next);
        if (Same(_current, next))
        {
            return false;
        }

        _current = next;
        Changed?.Invoke();
        return true;
    }

    private static bool Same(IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> a, IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> b)
        => a.Count == b.Count && a.All(w => b.TryGetValue(w.Key, out var other) && other.Count == w.Value.Count
            && w.Value.All(n => other.TryGetValue(n.Key, out var weight) && weight == n.Value));
}
