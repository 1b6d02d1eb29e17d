using System.Text.Json;
using Drover.Cli.Views;

namespace Drover.Cli.Events;

/// <summary>
/// One event of <c>/v1/events</c> as one line for people: when, the channel and its number, what happened.
/// Status messages, cluster health transitions and placement decisions each say what matters of them.
/// </summary>
internal static class EventLine
{
    public static string Format(ServerSentEvent item)
    {
        if (item.DataJson() is not { } data)
        {
            return $"{item.Event} {item.Data}";
        }

        var channel = $"{Field.Text(data, "channel")}#{Field.Text(data, "sequence")}";
        return item.Event switch
        {
            "cluster-health" => Join(
                At(data), channel, item.Event,
                $"{Field.Text(data, "from")} -> {Field.Text(data, "to")}",
                $"survivors {Field.Text(data, "survivors")}/{Field.Text(data, "total")} (threshold {Field.Text(data, "minSurvivors")})",
                Labelled("served by", Field.Text(data, "servedBy")),
                Field.Text(data, "reason")),
            "decision" => Decision(data, channel),
            "disconnected" => Join(item.Event, Field.Text(data, "reason")),
            _ => Join(
                At(data), channel, Field.Text(data, "status"),
                Field.Text(data, "callId"),
                $"{Field.Text(data, "method")} {Field.Text(data, "path")}".Trim(),
                Labelled("node", Field.Text(data, "nodeId")),
                Labelled("instance", Field.Text(data, "instanceId")),
                Field.Number(data, "statusCode") is > 0 ? Field.Text(data, "statusCode") : "",
                Field.Text(data, "status") is "completed" or "failed" ? $"{Field.Decimal(Field.Number(data, "durationMs"))}ms" : "",
                Field.Text(data, "reason")),
        };
    }

    /// <summary>When the event happened, as the aggregator says (a decision carries it in its record).</summary>
    public static string At(JsonElement data)
        => Field.Text(data, "at") is { Length: > 0 } at ? at : Field.Text(Field.Get(data, "decision"), "at");

    private static string Decision(JsonElement data, string channel)
    {
        var decision = Field.Get(data, "decision");
        var move = (Field.Text(decision, "fromNodeId"), Field.Text(decision, "toNodeId")) switch
        {
            ("", "") => "",
            (var from, "") => $"from {from}",
            ("", var to) => $"to {to}",
            var (from, to) => $"{from} -> {to}",
        };
        return Join(At(data), channel, "decision", Field.Text(decision, "kind"), Field.Text(decision, "instanceId"), move, Field.Text(decision, "outcome"), Field.Text(decision, "reason"));
    }

    private static string Labelled(string label, string value) => value.Length > 0 ? $"{label} {value}" : "";

    private static string Join(params string[] parts) => string.Join("  ", parts.Where(p => p.Length > 0));
}
