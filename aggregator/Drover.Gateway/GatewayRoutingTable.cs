using Drover.Decisions.Routing;

namespace Drover.Gateway;

/// <summary>
/// The routing table the gateway serves from. The aggregator's health loop calls <see cref="Update"/>
/// with every table it builds; requests read <see cref="Current"/> without a lock. When the table's
/// nodes or their endpoints change, the gateway's YARP destinations are republished; a table with the
/// same nodes (new shares, hosts or version) only swaps the reference.
/// </summary>
public sealed class GatewayRoutingTable
{
    private readonly Lock _gate = new();
    private volatile RoutingTable _current = RoutingTable.Empty;
    private IReadOnlyDictionary<string, string> _destinations = new Dictionary<string, string>(StringComparer.Ordinal);
    private TaskCompletionSource _updated = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The table in force.</summary>
    public RoutingTable Current => _current;

    /// <summary>The destinations (node id → endpoint) of the table in force.</summary>
    internal IReadOnlyDictionary<string, string> Destinations => Volatile.Read(ref _destinations);

    /// <summary>Raised (under the update's lock, after the swap) when the node set or an endpoint changed.</summary>
    internal event Action<RoutingTable>? DestinationsChanged;

    /// <summary>Replaces the table; an older version than the one in force is ignored.</summary>
    /// <returns>Whether the table was taken.</returns>
    public bool Update(RoutingTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        lock (_gate)
        {
            if (table.Version < _current.Version)
            {
                return false;
            }

            var destinations = DestinationsOf(table);
            var changed = !SameDestinations(destinations, _destinations);
            if (changed)
            {
                // Destinations first: a request that reads the new table finds its nodes among YARP's
                // destinations (YARP applies a published configuration synchronously in the common case).
                Volatile.Write(ref _destinations, destinations);
                DestinationsChanged?.Invoke(table);
            }

            _current = table;
            _updated.TrySetResult();
            _updated = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return true;
        }
    }

    /// <summary>
    /// Completes at the next <see cref="Update"/> or after <paramref name="timeout"/>, whichever is
    /// first: a retry waits for the health decision that follows a node's failure, not a fixed time.
    /// </summary>
    public async Task WaitForUpdateAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        Task next;
        lock (_gate)
        {
            next = _updated.Task;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(timeout, time, stop.Token);
        await Task.WhenAny(next, delay);
        await stop.CancelAsync();
        cancellationToken.ThrowIfCancellationRequested();
    }

    private static Dictionary<string, string> DestinationsOf(RoutingTable table)
    {
        var destinations = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var cluster in table.Clusters)
        {
            foreach (var node in cluster.Nodes)
            {
                destinations[node.NodeId] = node.Endpoint;
            }
        }

        return destinations;
    }

    private static bool SameDestinations(Dictionary<string, string> next, IReadOnlyDictionary<string, string> previous)
    {
        if (next.Count != previous.Count)
        {
            return false;
        }

        foreach (var (node, endpoint) in next)
        {
            if (!previous.TryGetValue(node, out var before) || !string.Equals(before, endpoint, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }
}
