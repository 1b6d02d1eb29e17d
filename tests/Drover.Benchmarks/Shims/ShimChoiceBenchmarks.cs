using System.Text;
using BenchmarkDotNet.Attributes;
using Drover.Agent.Instances;
using Drover.Agent.Shims;

namespace Drover.Benchmarks.Shims;

/// <summary>
/// What the shim adds to every request before it forwards it: a slot of the function's gate taken and
/// given back (no wait), and, for a service routed by a field, the rendezvous choice of an instance
/// over the set's routes.
/// </summary>
/// <remarks>A short job (1 launch, 5 warm-up and 15 measured iterations) so the suite fits a 2-core machine.</remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 5, iterationCount: 15)]
public class ShimChoiceBenchmarks
{
    private readonly byte[] _key = Encoding.UTF8.GetBytes("user-4711");
    private WorkloadGate _gate = null!;
    private string[] _routes = [];

    /// <summary>Instances in the function's gate and routes in the service's set.</summary>
    [Params(3, 64)]
    public int Instances { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var instances = Enumerable.Range(0, Instances).Select(i =>
        {
            var traffic = new InstanceTraffic($"counter-{i:x10}");
            traffic.SetRunning(true);
            traffic.SetHealthy(true);
            return traffic;
        }).ToArray();
        _gate = new WorkloadGate { Concurrency = 4, QueueLength = 64 };
        _gate.SetInstances(instances);
        _routes = instances.Select(i => i.InstanceId).ToArray();
    }

    [Benchmark]
    public async Task<int> GateEnterAndExit()
    {
        var entry = await _gate.EnterAsync(null, CancellationToken.None);
        _gate.Exit(entry.Instance!);
        return (int)entry.Outcome;
    }

    [Benchmark]
    public int RendezvousChoice() => RendezvousHash.Choose(_key, _routes);
}
