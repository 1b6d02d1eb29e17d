using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using Drover.Decisions.Scaling;
using Perfolizer.Mathematics.OutlierDetection;

namespace Drover.Benchmarks.Scaling;

/// <summary>
/// One scaling and placement pass over a fleet of 10 000 nodes with 8 GPUs each (80 000 GPUs) and
/// 1 000 functions with about 20 000 instances: <see cref="Pass"/> has 5 % of the functions scaling up
/// by 1 to 5, 5 % below their count (half of them at the end of their window, so they stop instances,
/// half waiting), the rest steady; <see cref="SteadyPass"/> is the same fleet with every function at its
/// count, the cost of a pass that decides nothing. Target: P99 of <see cref="Pass"/> under 10 ms.
/// </summary>
/// <remarks>
/// One invocation per iteration and no outlier removal, so the percentiles are those of single passes,
/// GC pauses included; 1 000 measured iterations make P99 the tenth-worst pass. 150 warm-up passes,
/// because the aggregator runs one every monitoring period for as long as it lives: with 20, the
/// measured passes included the JIT's tier-up of the methods a pass calls once (promoted after 30
/// calls, compiled on a background thread competing for the same 2 cores), which is start-up, not a pass.
/// </remarks>
[Config(typeof(PassConfig))]
[MemoryDiagnoser]
public class AutoscalerBenchmarks
{
    private const int Nodes = 10_000;
    private const int GpusPerNode = 8;
    private const int Functions = 1_000;
    private const long GiB = 1L << 30;

    private ScalingSnapshot _pass = null!;
    private ScalingSnapshot _steady = null!;

    [GlobalSetup]
    public void Setup()
    {
        (_pass, _steady) = Fleet(new Random(20261201));
        var decisions = Autoscaler.Decide(_pass).Decisions;
        var starts = decisions.Sum(d => d.Starts.Count);
        var stops = decisions.Sum(d => d.Stops.Count);
        Console.WriteLine($"// fleet: {_pass.Nodes.Count} nodes, {_pass.Nodes.Sum(n => n.Gpus.Count)} GPUs, {_pass.Functions.Count} functions, "
            + $"{_pass.Instances.Count} instances; a pass decides {decisions.Count} functions: {starts} starts, {stops} stops, "
            + $"{decisions.Sum(d => d.Shortfall)} short, {decisions.Count(d => !d.Changed)} waiting; steady pass decides {Autoscaler.Decide(_steady).Decisions.Count}");
    }

    [Benchmark(Baseline = true)]
    public int Pass() => Autoscaler.Decide(_pass).Decisions.Count;

    [Benchmark]
    public int SteadyPass() => Autoscaler.Decide(_steady).Decisions.Count;

    /// <summary>
    /// The fleet, and its queues twice: one where some functions scale, one where none does. GPUs: 40 %
    /// idle, the rest with command queues up to 64 and utilization to match; free memory is 80 GiB less
    /// what the instances on it hold. About 5 % of the nodes are not eligible and 0.5 % of the GPUs are lost.
    /// </summary>
    private static (ScalingSnapshot Pass, ScalingSnapshot Steady) Fleet(Random random)
    {
        var functions = Enumerable.Range(0, Functions).Select(f => new ScalingFunction(
                $"fn-{f:0000}",
                Slo: random.Next(4, 33),
                Margin: random.Next(0, 3),
                MinInstances: 1,
                MaxInstances: 200,
                GpuMemoryBytes: random.Next(2, 25) * GiB))
            .ToArray();

        var used = new long[Nodes * GpusPerNode];
        var instances = new List<ScalingInstance>();
        var counts = new int[Functions];
        for (var f = 0; f < Functions; f++)
        {
            counts[f] = Math.Max(functions[f].Margin + 1, (int)Math.Round(Math.Exp(random.NextDouble() * Math.Log(60))));
            var hosts = new HashSet<int>();
            while (hosts.Count < counts[f])
            {
                hosts.Add(random.Next(Nodes));
            }

            foreach (var node in hosts)
            {
                var gpu = random.Next(GpusPerNode);
                used[(node * GpusPerNode) + gpu] += functions[f].GpuMemoryBytes;
                instances.Add(new ScalingInstance($"fn-{f:0000}-{node:00000}", functions[f].Name, $"node-{node:00000}", $"GPU-{node:00000}-{gpu}",
                    Starting: random.Next(10) == 0, InFlight: random.Next(0, functions[f].Slo + 1)));
            }
        }

        var nodes = Enumerable.Range(0, Nodes).Select(n => new ScalingNode(
                $"node-{n:00000}",
                $"cluster-{n % 10}",
                n / 10,
                Eligible: random.Next(20) > 0,
                Priority: random.Next(3),
                Weight: random.Next(1, 11) * 100,
                Enumerable.Range(0, GpusPerNode).Select(g =>
                {
                    var idle = random.Next(10) < 4;
                    var queue = idle ? 0 : random.Next(1, 65);
                    var free = Math.Max(0, (80 * GiB) - used[(n * GpusPerNode) + g] - (random.Next(0, 512) * (1L << 20)));
                    return new ScalingGpu($"GPU-{n:00000}-{g}", Healthy: random.Next(200) > 0, free, queue,
                        idle ? 0 : Math.Min(100, (queue * 3 / 2) + random.Next(0, 20)));
                }).ToArray()))
            .ToArray();

        // Steady: a queue whose formula gives exactly the current count. Then 5 % up by 1-5, 5 % down by 1-5.
        var steady = new Dictionary<string, int>(StringComparer.Ordinal);
        var queues = new Dictionary<string, int>(StringComparer.Ordinal);
        var previous = new Dictionary<string, ScalingPrevious>(StringComparer.Ordinal);
        for (var f = 0; f < Functions; f++)
        {
            var function = functions[f];
            int Queue(int count) => Math.Max(0, ((count - function.Margin) * function.Slo) - random.Next(0, function.Slo));
            steady[function.Name] = Queue(counts[f]);
            var roll = random.Next(100);
            if (roll < 5)
            {
                queues[function.Name] = Queue(counts[f] + random.Next(1, 6));
            }
            else if (roll < 10 && counts[f] - function.Margin > 1)
            {
                queues[function.Name] = Queue(Math.Max(1 + function.Margin, counts[f] - random.Next(1, 6)));
                previous[function.Name] = new ScalingPrevious(TimeSpan.FromSeconds(roll < 8 ? 59 : 20));
            }
            else
            {
                queues[function.Name] = steady[function.Name];
            }
        }

        var empty = new Dictionary<string, ScalingPrevious>(StringComparer.Ordinal);
        return (new ScalingSnapshot(functions, nodes, instances, queues, previous, TimeSpan.FromSeconds(1)),
            new ScalingSnapshot(functions, nodes, instances, steady, empty, TimeSpan.FromSeconds(1)));
    }

    /// <summary>Single passes, measured one at a time: mean, P95, P99 and the worst.</summary>
    private sealed class PassConfig : ManualConfig
    {
        public PassConfig()
        {
            AddJob(Job.Default
                .WithLaunchCount(1)
                .WithWarmupCount(150)
                .WithIterationCount(1000)
                .WithInvocationCount(1)
                .WithUnrollFactor(1)
                .WithOutlierMode(OutlierMode.DontRemove));
            AddColumn(StatisticColumn.Min, StatisticColumn.P95, new PercentileColumn(99), StatisticColumn.Max);

            // The generated project rebuilds the agent too; on 2 shared cores that can pass BenchmarkDotNet's 2 minutes.
            WithBuildTimeout(TimeSpan.FromMinutes(10));
        }
    }
}
