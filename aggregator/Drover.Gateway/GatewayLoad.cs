using System.Collections.Concurrent;

namespace Drover.Gateway;

/// <summary>
/// Requests the gateway holds in flight: per node (the least-outstanding part of the node choice) and
/// per workload, and of those the ones it holds without a node's shim having them (what a function's
/// queue length adds for the autoscaler: a forwarded request is already counted by the shim). Only workloads and nodes the
/// routing table knows are counted, so a client cannot grow the maps with made-up names.
/// </summary>
public sealed class GatewayLoad
{
    private readonly ConcurrentDictionary<string, Counter> _nodes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Counter> _workloads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Counter> _forwarding = new(StringComparer.Ordinal);

    public GatewayLoad() => NodeInFlightFunc = NodeInFlight;

    /// <summary>Requests of <paramref name="workload"/> (a function's name, or <c>service/&lt;name&gt;</c>) the gateway holds now.</summary>
    public int InFlight(string workload)
        => _workloads.TryGetValue(workload, out var counter) ? Volatile.Read(ref counter.Value) : 0;

    /// <summary>
    /// Requests of <paramref name="workload"/> the gateway holds that no node's shim has now: being
    /// routed, or waiting for a retry's table. A forwarded request counts in its shim's queue instead.
    /// </summary>
    public int Held(string workload)
        => Math.Max(0, InFlight(workload) - (_forwarding.TryGetValue(workload, out var counter) ? Volatile.Read(ref counter.Value) : 0));

    /// <summary>Requests forwarded to <paramref name="nodeId"/> and not yet answered in full.</summary>
    public int NodeInFlight(string nodeId)
        => _nodes.TryGetValue(nodeId, out var counter) ? Volatile.Read(ref counter.Value) : 0;

    /// <summary><see cref="NodeInFlight"/> as one delegate, so a pick does not allocate one per request.</summary>
    internal Func<string, int> NodeInFlightFunc { get; }

    internal void EnterNode(string nodeId) => Interlocked.Increment(ref _nodes.GetOrAdd(nodeId, static _ => new Counter()).Value);

    internal void ExitNode(string nodeId) => Interlocked.Decrement(ref _nodes.GetOrAdd(nodeId, static _ => new Counter()).Value);

    internal void EnterWorkload(string workload) => Interlocked.Increment(ref _workloads.GetOrAdd(workload, static _ => new Counter()).Value);

    internal void ExitWorkload(string workload) => Interlocked.Decrement(ref _workloads.GetOrAdd(workload, static _ => new Counter()).Value);

    internal void EnterForward(string workload) => Interlocked.Increment(ref _forwarding.GetOrAdd(workload, static _ => new Counter()).Value);

    internal void ExitForward(string workload) => Interlocked.Decrement(ref _forwarding.GetOrAdd(workload, static _ => new Counter()).Value);

    private sealed class Counter
    {
        public int Value;
    }
}
