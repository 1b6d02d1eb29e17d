using System.Buffers;
using System.Text.Json;
using Drover.Protocol.Events;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Events;

/// <summary>
/// A numbered status message as the HTTP API shows it: one line of camelCase JSON, written by hand
/// (no reflection) because it is written once per message per subscriber.
/// </summary>
internal static class StatusEventJson
{
    public static void Write(IBufferWriter<byte> output, ChannelEvent numbered)
    {
        if (numbered.ClusterHealth is { } cluster)
        {
            WriteCluster(output, numbered.Channel, numbered.Sequence, cluster);
            return;
        }

        if (!numbered.DecisionJson.IsEmpty)
        {
            WriteDecision(output, numbered);
            return;
        }

        var e = numbered.Event;
        using var json = new Utf8JsonWriter(output);
        json.WriteStartObject();
        json.WriteString("channel", e.Channel);
        json.WriteNumber("sequence", numbered.Sequence);
        if (EventChannels.Split(e.Channel) is var (kind, name))
        {
            json.WriteString(kind, name);
        }

        json.WriteString("callId", e.CallId);
        json.WriteString("status", RequestStatusNames.Of(e.Status));
        json.WriteString("method", e.Method);
        json.WriteString("path", e.Path);
        json.WriteStartObject("headers");
        foreach (var (header, value) in e.Headers.OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            json.WriteString(header, value);
        }

        json.WriteEndObject();
        json.WriteString("nodeId", e.NodeId);
        json.WriteString("instanceId", e.InstanceId);
        json.WriteNumber("statusCode", e.StatusCode);
        json.WriteNumber("durationMs", e.DurationMs);
        json.WriteString("reason", e.Reason);
        if (e.At is { } at)
        {
            json.WriteString("at", at.ToDateTimeOffset());
        }
        else
        {
            json.WriteNull("at");
        }

        json.WriteEndObject();
    }

    /// <summary>The SSE event name of a numbered message: its status, <c>cluster-health</c> or <c>decision</c>.</summary>
    public static string EventName(ChannelEvent numbered)
        => numbered.ClusterHealth is not null ? "cluster-health"
            : !numbered.DecisionJson.IsEmpty ? "decision"
            : RequestStatusNames.Of(numbered.Event.Status);

    /// <summary>A decision: <c>{channel, sequence, function, decision}</c>, the decision as <c>GET /v1/functions/{name}/decisions</c> shows it.</summary>
    private static void WriteDecision(IBufferWriter<byte> output, ChannelEvent numbered)
    {
        using var json = new Utf8JsonWriter(output);
        json.WriteStartObject();
        json.WriteString("channel", numbered.Channel);
        json.WriteNumber("sequence", numbered.Sequence);
        if (EventChannels.Split(numbered.Channel) is var (_, function))
        {
            json.WriteString("function", function);
        }

        json.WritePropertyName("decision");
        json.WriteRawValue(numbered.DecisionJson.Span, skipInputValidation: true);
        json.WriteEndObject();
    }

    /// <summary>A cluster's health transition: <c>{channel, sequence, cluster, from, to, survivors, minSurvivors, total, servedBy, reason, at}</c>.</summary>
    private static void WriteCluster(IBufferWriter<byte> output, string channel, ulong sequence, ClusterHealthEvent e)
    {
        using var json = new Utf8JsonWriter(output);
        json.WriteStartObject();
        json.WriteString("channel", channel);
        json.WriteNumber("sequence", sequence);
        json.WriteString("cluster", e.Cluster);
        json.WriteString("from", e.From);
        json.WriteString("to", e.To);
        json.WriteNumber("survivors", e.Survivors);
        json.WriteNumber("minSurvivors", e.MinSurvivors);
        json.WriteNumber("total", e.Total);
        json.WriteStartArray("servedBy");
        foreach (var name in e.ServedBy)
        {
            json.WriteStringValue(name);
        }

        json.WriteEndArray();
        json.WriteString("reason", e.Reason);
        json.WriteString("at", e.At?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch);
        json.WriteEndObject();
    }
}
