using System.Diagnostics.Metrics;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Metrics;

/// <summary>
/// The aggregator's meter, <c>Drover.Aggregator</c>, and the instruments recorded where things happen (the link's
/// messages, the decision passes). The fleet's gauges are read at each scrape (<see cref="FleetMetrics"/>). Exported at
/// <c>/metrics</c> in Prometheus's text format; the names there follow Prometheus's conventions (<c>drover_</c>, base
/// units, <c>_total</c> on counters), made by the exporter from the instruments' names and units.
/// </summary>
internal static class AggregatorMeter
{
    public const string Name = "Drover.Aggregator";

    public static readonly Meter Meter = new(Name);

    /// <summary>Messages read from the agents' streams, by kind: <c>drover_agent_messages_total{kind}</c>.</summary>
    public static readonly Counter<long> AgentMessages = Meter.CreateCounter<long>(
        "drover.agent.messages", "{message}", "Messages read from the agents' streams, by kind.");

    /// <summary>How long each placement and scaling pass took: <c>drover_decision_pass_duration_seconds</c>.</summary>
    public static readonly Histogram<double> PassDuration = Meter.CreateHistogram(
        "drover.decision.pass.duration",
        "s",
        "How long each placement and scaling pass took.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });

    /// <summary>Counts one agent message of <paramref name="kind"/>: a constant tag per kind, so counting allocates nothing.</summary>
    public static void CountMessage(AgentMessage.KindOneofCase kind)
    {
        if (AgentMessages.Enabled)
        {
            AgentMessages.Add(1, new KeyValuePair<string, object?>("kind", KindName(kind)));
        }
    }

    private static string KindName(AgentMessage.KindOneofCase kind) => kind switch
    {
        AgentMessage.KindOneofCase.Hello => "hello",
        AgentMessage.KindOneofCase.Heartbeat => "heartbeat",
        AgentMessage.KindOneofCase.Telemetry => "telemetry",
        AgentMessage.KindOneofCase.InstanceReport => "instance_report",
        AgentMessage.KindOneofCase.CommandResult => "command_result",
        AgentMessage.KindOneofCase.StateChunk => "state_chunk",
        AgentMessage.KindOneofCase.ShimStats => "shim_stats",
        AgentMessage.KindOneofCase.StatusEvent => "status_event",
        AgentMessage.KindOneofCase.StatusEvents => "status_events",
        AgentMessage.KindOneofCase.ProbeReply => "probe_reply",
        AgentMessage.KindOneofCase.EventSubscription => "event_subscription",
        _ => "other",
    };
}
