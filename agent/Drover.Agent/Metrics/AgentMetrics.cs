using System.Diagnostics.Metrics;
using Drover.Agent.Instances;
using Drover.Agent.Link;
using Drover.Agent.Shims;
using Drover.Agent.Telemetry;
using Drover.Protocol;
using Drover.Protocol.Events;
using Drover.Protocol.V1;

namespace Drover.Agent.Metrics;

/// <summary>
/// The agent's meter, <c>Drover.Agent</c>: what the node costs and how its parts are doing, read from them at each
/// scrape (nothing is recorded between scrapes, so an agent nobody scrapes pays nothing for it): the GPU sampling's
/// own cost, the link to the aggregator, the shim's queues and outcomes per function and service, and the instances by
/// state with their restarts. Exported at <c>/metrics</c> on the node's port (<see cref="ShimServer"/>), in
/// Prometheus's text format, beside the runtime's own meter (CPU time, memory, GC). The GPUs themselves are the
/// aggregator's series (every node's, and dcgm-exporter's names): an agent reports them there, once.
/// </summary>
/// <remarks>Disposed with the host: a gauge holds the parts it reads, and must not outlive them.</remarks>
internal sealed class AgentMetrics : IDisposable
{
    public const string Name = "Drover.Agent";

    /// <summary>The meters the node's <c>/metrics</c> exports: the agent's own and the runtime's.</summary>
    public static readonly string[] Exported = [Name, "System.Runtime"];

    private readonly Meter _meter = new(Name);
    private readonly ShimWorkloads _workloads;
    private readonly InstanceManager _instances;

    public AgentMetrics(SamplingCost sampling, AgentOutbox outbox, ShimWorkloads workloads, InstanceManager instances)
    {
        _workloads = workloads;
        _instances = instances;
        var meter = _meter;

        meter.CreateObservableCounter("drover.agent.samples", () => sampling.Samples, "{sample}", "GPU samples taken (every GPU through NVML, once per telemetry interval).");
        meter.CreateObservableCounter("drover.agent.sample.duration", () => sampling.Seconds, "s", "The time the GPU samples took, all together: divided by drover_agent_samples_total, the mean cost of one.");

        meter.CreateObservableGauge("drover.agent.link.connected", () => outbox.IsConnected ? 1 : 0, "1", "1 while a stream to the aggregator is open and welcomed, else 0.");
        meter.CreateObservableCounter("drover.agent.link.connects", () => outbox.Connects, "{stream}", "Streams to the aggregator welcomed: the first and every reconnection.");
        meter.CreateObservableGauge("drover.agent.link.outbox.length", () => outbox.Waiting, "{message}", "Messages waiting to be written on the open stream.");
        meter.CreateObservableCounter("drover.agent.link.messages.refused", () => outbox.Refused, "{message}", "Messages not sent because the open stream's outbox was full.");

        meter.CreateObservableGauge("drover.shim.queue.length", () => Workloads(w => w.Gate.Queued), "{request}", "Requests waiting in the shim's queue for a slot, per function or service.");
        meter.CreateObservableGauge("drover.shim.in_flight", () => Workloads(w => Math.Max(0, w.Gate.InFlight)), "{request}", "Requests being served by an instance now, per function or service.");
        meter.CreateObservableCounter("drover.shim.requests", ShimRequests, "{request}", "Requests the shim finished, per function or service and outcome (completed, failed, rejected, timed_out).");

        meter.CreateObservableGauge("drover.agent.instances", InstancesByState, "{instance}", "This node's instances by state (starting, running, restarting, failed, stopped).");
        meter.CreateObservableCounter("drover.agent.instance.restarts", InstanceRestarts, "{restart}", "Times each instance's process was started again after it ended.");
    }

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<int>> Workloads(Func<ShimWorkload, int> value) =>
        _workloads.All.Select(w => new Measurement<int>(value(w), KindTag(w.Key.Kind), new("name", w.Key.Name)));

    private IEnumerable<Measurement<long>> ShimRequests()
    {
        foreach (var workload in _workloads.All)
        {
            var kind = KindTag(workload.Key.Kind);
            var name = new KeyValuePair<string, object?>("name", workload.Key.Name);
            yield return new(workload.Completed, kind, name, new("outcome", "completed"));
            yield return new(workload.Failed, kind, name, new("outcome", "failed"));
            yield return new(workload.Rejected, kind, name, new("outcome", "rejected"));
            yield return new(workload.TimedOut, kind, name, new("outcome", "timed_out"));
        }
    }

    private IEnumerable<Measurement<int>> InstancesByState()
    {
        var counts = _instances.All.Select(s => s.Report().State).GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());
        foreach (var state in Enum.GetValues<InstanceState>().Where(s => s != InstanceState.Unspecified))
        {
            yield return new(counts.GetValueOrDefault(state), new KeyValuePair<string, object?>("state", InstanceStateNames.Of(state)));
        }
    }

    private IEnumerable<Measurement<long>> InstanceRestarts() => _instances.All.Select(s => s.Report()).Select(r => new Measurement<long>(
        r.Restarts,
        new("instance", r.InstanceId),
        KindTag(r.Kind),
        new("name", r.Function)));

    /// <summary>A workload's kind label (<c>function</c> or <c>service</c>); its name is the <c>name</c> label.</summary>
    private static KeyValuePair<string, object?> KindTag(WorkloadKind kind) => new("kind", EventChannels.KindName(kind));
}
