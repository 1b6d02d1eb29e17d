using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Drover.Cli.Views;

/// <summary><c>droverctl nodes</c>: <c>GET /v1/nodes</c> as a table, by cluster and server number.</summary>
internal static class NodesView
{
    public static IRenderable Render(JsonElement nodes, bool plain)
    {
        var table = Tables.Create(plain, "NODE", "CLUSTER", "SERVER", "ADDRESS", "SURVIVAL", "SURVIVES", "HEARTBEAT", "GPUS", "WEIGHT", "PRIORITY", "AGENT");
        foreach (var node in Field.Items(nodes).OrderBy(n => Field.Text(n, "cluster"), StringComparer.Ordinal).ThenBy(n => Field.Number(n, "serverNumber")))
        {
            table.AddRow(
                new Text(Field.Text(node, "nodeId")),
                new Text(Field.Text(node, "cluster")),
                new Text(Field.Text(node, "serverNumber")),
                new Text(Field.Text(node, "address")),
                Tables.State(Field.Text(node, "survival")),
                Tables.State(Field.Text(node, "survives")),
                new Text(Field.Age(Field.Number(node, "lastHeartbeatAgeMs"))),
                new Text(Field.Text(node, "gpuCount")),
                new Text(Setting(node, "weight")),
                new Text(Setting(node, "priority")),
                new Text(Field.Text(node, "agentVersion")));
        }

        return table;
    }

    /// <summary>A weight or priority, marked when an override set it rather than the agent.</summary>
    private static string Setting(JsonElement node, string name)
        => Field.Text(node, name) + (Field.Text(node, name + "Source") == "override" ? " (override)" : "");
}
