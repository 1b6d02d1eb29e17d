using System.Diagnostics.Metrics;
using Drover.Aggregator.Api;
using Drover.Aggregator.Clusters;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Functions;
using Drover.Aggregator.Placement;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Metrics;

/// <summary>
/// The fleet as gauges on <see cref="AggregatorMeter"/>, read from the aggregator's tables at each scrape (nothing is
/// recorded between scrapes): nodes by survival, clusters by health with their survivors and thresholds, every GPU's
/// load (Drover's names, and dcgm-exporter's so that its published Grafana dashboard works unchanged), every function's
/// queue and desired and running instances, and the decisions taken by kind.
/// </summary>
/// <remarks>
/// Its gauges live on a meter of its own (named as <see cref="AggregatorMeter.Name"/>, so the same exporter reads it),
/// disposed with the host: a gauge holds the tables it reads, and must not outlive them.
/// </remarks>
internal sealed class FleetMetrics : IDisposable
{
    private readonly Meter _meter = new(AggregatorMeter.Name);
    private readonly NodeTable _nodes;
    private readonly InstanceTable _instances;
    private readonly ClusterHealthMonitor _health;
    private readonly FunctionRegistry _functions;
    private readonly WorkloadStatsTable _stats;
    private readonly InstanceReconciler _reconciler;
    private readonly DecisionLog _decisions;

    public FleetMetrics(NodeTable nodes, InstanceTable instances, ClusterHealthMonitor health, FunctionRegistry functions, WorkloadStatsTable stats, InstanceReconciler reconciler, DecisionLog decisions)
    {
        _nodes = nodes;
        _instances = instances;
        _health = health;
        _functions = functions;
        _stats = stats;
        _reconciler = reconciler;
        _decisions = decisions;
        var meter = _meter;

        meter.CreateObservableGauge("drover.nodes", NodesBySurvival, "{node}", "Nodes by survival state (alive, draining, stopping, lost).");
        meter.CreateObservableGauge("drover.clusters", ClustersByHealth, "{cluster}", "Clusters by health (healthy, recovering, unhealthy).");
        meter.CreateObservableGauge("drover.cluster.survivors", () => Clusters(c => c.Survivors), "{node}", "A cluster's surviving nodes.");
        meter.CreateObservableGauge("drover.cluster.min_survivors", () => Clusters(c => c.MinSurvivors), "{node}", "A cluster's minimum survival threshold.");

        meter.CreateObservableGauge("drover.gpu.utilization", () => Gpus(g => g.UtilizationGpuPercent / 100.0), "1", "A GPU's utilization, 0-1.");
        meter.CreateObservableGauge("drover.gpu.memory.used", () => Gpus(g => (double)g.MemoryUsedBytes), "By", "A GPU's used memory.");
        meter.CreateObservableGauge("drover.gpu.memory.total", () => Gpus(g => (double)g.MemoryTotalBytes), "By", "A GPU's total memory.");
        meter.CreateObservableGauge("drover.gpu.command_queue.length", () => Gpus(g => g.CommandQueueLength, g => ("source", g.CommandQueueSource)), "{command}", "A GPU's command-queue length; source: measured, reported, estimated or unknown.");
        meter.CreateObservableGauge("drover.gpu.temperature", () => Gpus(g => g.TemperatureC), "Cel", "A GPU's temperature.");
        meter.CreateObservableGauge("drover.gpu.power", () => Gpus(g => g.PowerMilliwatts / 1000.0), "W", "A GPU's power draw.");
        meter.CreateObservableGauge("drover.gpu.healthy", () => Gpus(g => g.Health == GpuHealthState.Ok ? 1 : 0, g => ("health", GpuResponse.HealthName(g.Health))), "1", "1 when a GPU is healthy, else 0; health: ok, degraded, unhealthy, lost or unavailable.");

        // dcgm-exporter's default names, units and labels (gpu, UUID, device, modelName, Hostname, pci_bus_id).
        meter.CreateObservableGauge("DCGM_FI_DEV_GPU_UTIL", () => Dcgm(g => g.UtilizationGpuPercent), description: "GPU utilization (in %).");
        meter.CreateObservableGauge("DCGM_FI_DEV_MEM_COPY_UTIL", () => Dcgm(g => g.UtilizationMemoryPercent), description: "Memory utilization (in %).");
        meter.CreateObservableGauge("DCGM_FI_DEV_FB_USED", () => Dcgm(g => g.MemoryUsedBytes / (1024.0 * 1024)), description: "Framebuffer memory used (in MiB).");
        meter.CreateObservableGauge("DCGM_FI_DEV_FB_FREE", () => Dcgm(g => g.MemoryFreeBytes / (1024.0 * 1024)), description: "Framebuffer memory free (in MiB).");
        meter.CreateObservableGauge("DCGM_FI_DEV_GPU_TEMP", () => Dcgm(g => g.TemperatureC), description: "GPU temperature (in C).");
        meter.CreateObservableGauge("DCGM_FI_DEV_POWER_USAGE", () => Dcgm(g => g.PowerMilliwatts / 1000.0), description: "Power draw (in W).");
        meter.CreateObservableGauge("DCGM_FI_DEV_SM_CLOCK", () => Dcgm(g => g.Counters?.SmClockMhz ?? 0), description: "SM clock frequency (in MHz).");
        meter.CreateObservableGauge("DCGM_FI_DEV_MEM_CLOCK", () => Dcgm(g => g.Counters?.MemoryClockMhz ?? 0), description: "Memory clock frequency (in MHz).");
        meter.CreateObservableGauge("DCGM_FI_DEV_XID_ERRORS", () => Dcgm(g => g.Xid), description: "Value of the last XID error encountered.");

        meter.CreateObservableGauge("drover.function.queue.length", FunctionQueues, "{request}", "A function's queued and in-flight requests over the surviving nodes' shims.");
        meter.CreateObservableGauge("drover.function.instances.desired", FunctionsDesired, "{instance}", "The instances the last autoscaling pass wanted (autoscaled functions).");
        meter.CreateObservableGauge("drover.function.instances.running", FunctionsRunning, "{instance}", "A function's instances in state running.");
        meter.CreateObservableCounter("drover.decisions", DecisionsByKind, "{decision}", "Placement, scaling and balancing decisions carried out, by kind.");
    }

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<int>> NodesBySurvival()
    {
        var counts = _nodes.Snapshot().GroupBy(n => n.Survival).ToDictionary(g => g.Key, g => g.Count());
        foreach (var survival in Enum.GetValues<NodeSurvival>())
        {
            yield return new Measurement<int>(counts.GetValueOrDefault(survival), new KeyValuePair<string, object?>("survival", NodeResponse.SurvivalName(survival)));
        }
    }

    private IEnumerable<Measurement<int>> ClustersByHealth()
    {
        var clusters = _health.Current?.Clusters ?? [];
        foreach (var health in new[] { Decisions.Health.ClusterHealthState.Healthy, Decisions.Health.ClusterHealthState.Recovering, Decisions.Health.ClusterHealthState.Unhealthy })
        {
            yield return new Measurement<int>(clusters.Count(c => c.Health == health), new KeyValuePair<string, object?>("health", ClusterDefaults.HealthName(health)));
        }
    }

    private IEnumerable<Measurement<int>> Clusters(Func<Decisions.Health.ClusterStatus, int> value)
        => (_health.Current?.Clusters ?? []).Select(c => new Measurement<int>(value(c), new KeyValuePair<string, object?>("cluster", c.Name)));

    /// <summary>Every GPU's <paramref name="value"/>, labelled node, gpu (index), uuid and model, and <paramref name="extra"/>'s label where given.</summary>
    private IEnumerable<Measurement<double>> Gpus(Func<GpuState, double> value, Func<GpuState, (string Key, string Value)>? extra = null)
    {
        foreach (var node in _nodes.Snapshot())
        {
            foreach (var gpu in node.Gpus.Gpus)
            {
                KeyValuePair<string, object?>[] tags =
                [
                    new("node", node.NodeId),
                    new("gpu", gpu.Index.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    new("uuid", gpu.Uuid),
                    new("model", gpu.Name),
                ];
                if (extra?.Invoke(gpu) is { } label)
                {
                    tags = [.. tags, new(label.Key, label.Value)];
                }

                yield return new Measurement<double>(value(gpu), tags);
            }
        }
    }

    private IEnumerable<Measurement<double>> Dcgm(Func<GpuState, double> value)
    {
        foreach (var node in _nodes.Snapshot())
        {
            foreach (var gpu in node.Gpus.Gpus)
            {
                var index = gpu.Index.ToString(System.Globalization.CultureInfo.InvariantCulture);
                yield return new Measurement<double>(value(gpu),
                    new KeyValuePair<string, object?>("gpu", index),
                    new KeyValuePair<string, object?>("UUID", gpu.Uuid),
                    new KeyValuePair<string, object?>("device", $"nvidia{index}"),
                    new KeyValuePair<string, object?>("modelName", gpu.Name),
                    new KeyValuePair<string, object?>("Hostname", node.Identity.Hostname),
                    new KeyValuePair<string, object?>("pci_bus_id", gpu.PciBusId));
            }
        }
    }

    private IEnumerable<Measurement<long>> FunctionQueues()
    {
        var surviving = WorkloadStatus.Surviving(_nodes);
        foreach (var function in _functions.All)
        {
            var (queued, inFlight) = _stats.Totals(WorkloadKind.Function, function.Name, surviving);
            yield return new Measurement<long>(queued + inFlight, new KeyValuePair<string, object?>("function", function.Name));
        }
    }

    private IEnumerable<Measurement<int>> FunctionsDesired()
    {
        foreach (var function in _functions.All)
        {
            if (_reconciler.DesiredInstances(function.Name) is { } desired)
            {
                yield return new Measurement<int>(desired, new KeyValuePair<string, object?>("function", function.Name));
            }
        }
    }

    private IEnumerable<Measurement<int>> FunctionsRunning()
    {
        var running = _instances.Snapshot().Where(i => i.State == "running").GroupBy(i => i.Function, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return _functions.All.Select(f => new Measurement<int>(running.GetValueOrDefault(f.Name), new KeyValuePair<string, object?>("function", f.Name)));
    }

    private IEnumerable<Measurement<long>> DecisionsByKind()
        => _decisions.Totals().Select(t => new Measurement<long>(t.Value, new KeyValuePair<string, object?>("kind", t.Key)));
}
