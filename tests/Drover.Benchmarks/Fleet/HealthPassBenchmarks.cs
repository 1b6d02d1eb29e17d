using BenchmarkDotNet.Attributes;
using Drover.Aggregator.Clusters;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.Events;
using Drover.Aggregator.Fleet;
using Drover.Decisions.Health;
using Drover.Gateway;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Benchmarks.Fleet;

/// <summary>
/// The cluster health pass over 10 000 nodes in 10 clusters, each node with its last telemetry report of 8 GPUs
/// (80 000 GPUs), 0.5 % of the nodes disconnected. <see cref="Decide"/> is the pure decision,
/// <see cref="ClusterHealth.Decide"/>, on a snapshot built once; <see cref="Evaluate"/> is the monitor's whole pass
/// every monitoring period, <see cref="ClusterHealthMonitor.Evaluate"/>: the node table's snapshot, the decision,
/// the transitions (none: the fleet is steady) and the gateway's routing table rebuilt. The scaling pass at the
/// same size is <c>Scaling/AutoscalerBenchmarks</c>. <see cref="Snapshot"/> is the node table's snapshot alone.
/// </summary>
/// <remarks>
/// The clock is frozen, so every pass sees the same fleet. No instances are in the instance table, so the routing
/// table has no function hosts: what is measured is the health pass's cost in nodes, not in instances.
/// </remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class HealthPassBenchmarks
{
    private const int Nodes = 10_000;

    private NodeTable _nodes = null!;
    private ClusterHealthMonitor _monitor = null!;
    private HealthSnapshot _snapshot = null!;

    [GlobalSetup]
    public void Setup()
    {
        var time = new FrozenTime();
        var options = new AggregatorOptions();
        var nodes = _nodes = new NodeTable(time);
        FleetNodes.Fill(nodes, Nodes, n => n % 200 == 7);
        var clusters = new ClusterRegistry(options);
        _monitor = new ClusterHealthMonitor(nodes, new InstanceTable(time), clusters,
            new EventHub(options, NullLogger<EventHub>.Instance), new GatewayRoutingTable(), options, time,
            NullLogger<ClusterHealthMonitor>.Instance);

        // The snapshot the monitor decides on, built from the same table as the monitor builds it.
        var views = nodes.Snapshot();
        _snapshot = new HealthSnapshot(
            clusters.Settings(views.Select(n => n.Identity.Cluster)),
            views.Select(n => ClusterHealthMonitor.HealthNodeOf(n, options)).ToArray(),
            clusters.Modes(),
            _monitor.Evaluate().Clusters.ToDictionary(c => c.Name, c => new PreviousClusterHealth(c.Health, c.HealthyFor), StringComparer.Ordinal),
            options.MonitorPeriod,
            options.FailbackAfter,
            options.FailOpen);
        var decision = _monitor.Evaluate();
        Console.WriteLine($"// {views.Count} nodes, {views.Sum(v => v.Gpus.Gpus.Count)} GPUs, {_snapshot.Nodes.Count(n => n.Survives)} surviving; "
            + $"{decision.Clusters.Count} clusters, {decision.Clusters.Count(c => c.Health == ClusterHealthState.Healthy)} healthy, {decision.Transitions.Count} transitions");
    }

    [Benchmark(Baseline = true)]
    public int Decide() => ClusterHealth.Decide(_snapshot).Clusters.Count;

    /// <summary>The node table's snapshot, the first step of <see cref="Evaluate"/> (and of every API read of the nodes).</summary>
    [Benchmark]
    public int Snapshot() => _nodes.Snapshot().Count;

    [Benchmark]
    public int Evaluate() => _monitor.Evaluate().Clusters.Count;
}
