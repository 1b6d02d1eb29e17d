using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Drover.Cli.Views;

/// <summary>
/// <c>droverctl function NAME</c>: the definition in short, the live numbers, the instances of
/// <c>GET /v1/functions/{name}</c>, and the last decisions of <c>GET /v1/functions/{name}/decisions</c>.
/// </summary>
internal static class FunctionView
{
    public static IRenderable Render(JsonElement function, JsonElement decisions, int lastDecisions, bool plain)
    {
        var summary = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        void Line(string name, string value)
        {
            if (value.Length > 0)
            {
                summary.AddRow(new Text(name, new Style(decoration: Decoration.Bold)), new Text(value));
            }
        }

        var placement = FunctionsView.Placement(function);
        Line("Function", Field.Text(function, "name"));
        Line("Version", Field.Text(function, "version"));
        Line("Command", FunctionsView.Command(Field.Get(function, "runtime")));
        Line("Placement", placement == "autoscale"
            ? $"autoscale, {Field.Text(function, "minInstances")}..{Field.Text(function, "maxInstances")} instances, margin {Field.Text(function, "margin")}, GPU {Field.Text(function, "gpu")}"
            : placement);
        Line("Shim", $"{Field.Text(function, "shimMode")}, SLO {Field.Text(function, "slo")}, queue {Field.Text(function, "queueLength")}, timeout {Field.Text(function, "timeoutMs")} ms");
        Line("Public", Field.Text(function, "public"));
        Line("Requests", $"{Field.Text(function, "requestQueueLength")} in the queue ({Field.Text(function, "queued")} waiting, {Field.Text(function, "inFlight")} in flight)");
        Line("Instances", Field.Get(function, "desiredInstances").ValueKind == JsonValueKind.Number
            ? $"{Field.Text(function, "runningInstances")} running of {Field.Text(function, "desiredInstances")} desired"
            : $"{Field.Text(function, "runningInstances")} running");

        var instances = Tables.Create(plain, "INSTANCE", "NODE", "STATE", "READY", "PID", "PORT", "RESTARTS", "STATE VERSION", "GPU", "REASON");
        foreach (var instance in Field.Items(function, "instances").OrderBy(i => Field.Text(i, "nodeId"), StringComparer.Ordinal))
        {
            instances.AddRow(
                new Text(Field.Text(instance, "instanceId")),
                new Text(Field.Text(instance, "nodeId")),
                Tables.State(Field.Text(instance, "state")),
                Tables.State(Field.Text(instance, "ready")),
                new Text(Field.Text(instance, "pid")),
                new Text(Field.Text(instance, "port")),
                new Text(Field.Text(instance, "restarts")),
                new Text(Field.Text(instance, "stateVersion")),
                new Text(Field.Text(instance, "gpuUuid")),
                new Text(Field.Text(instance, "reason")));
        }

        var all = Field.Items(decisions).ToList();
        var recent = Tables.Create(plain, "AT", "KIND", "INSTANCE", "FROM", "TO", "OUTCOME", "REASON");
        foreach (var decision in all.Skip(Math.Max(0, all.Count - lastDecisions)))
        {
            Tables.AddRow(
                recent,
                Field.Text(decision, "at"),
                Field.Text(decision, "kind"),
                Field.Text(decision, "instanceId"),
                Field.Text(decision, "fromNodeId"),
                Field.Text(decision, "toNodeId"),
                Field.Text(decision, "outcome"),
                Field.Text(decision, "reason"));
        }

        var shown = Math.Min(all.Count, lastDecisions);
        return new Rows(
            summary,
            new Text($"\nInstances ({Field.Items(function, "instances").Count()})\n", new Style(decoration: Decoration.Bold)),
            instances,
            new Text($"\nDecisions (the last {shown} of {all.Count})\n", new Style(decoration: Decoration.Bold)),
            recent);
    }
}
