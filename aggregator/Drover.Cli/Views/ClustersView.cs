using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Drover.Cli.Views;

/// <summary><c>droverctl clusters</c>: <c>GET /v1/clusters</c>, a line when the fleet is degraded, then one row per cluster.</summary>
internal static class ClustersView
{
    public static IRenderable Render(JsonElement answer, bool plain)
    {
        var table = Tables.Create(plain, "CLUSTER", "HEALTH", "SURVIVORS", "THRESHOLD", "ROLE", "GROUP", "MODE", "WEIGHT", "PRIORITY", "SHARE", "SERVED BY", "SERVING FOR");
        foreach (var cluster in Field.Items(answer, "clusters"))
        {
            table.AddRow(
                new Text(Field.Text(cluster, "name")),
                Tables.State(Field.Text(cluster, "health")),
                new Text($"{Field.Text(cluster, "survivors")}/{Field.Text(cluster, "total")}"),
                new Text(Field.Text(cluster, "minSurvivors")),
                new Text(Field.Text(cluster, "role")),
                new Text(Field.Text(cluster, "group")),
                new Text(Field.Text(cluster, "mode")),
                new Text(Field.Text(cluster, "weight")),
                new Text(Field.Text(cluster, "priority")),
                new Text(Field.Number(cluster, "trafficShare") is { } share ? (share * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%" : ""),
                new Text(Field.Text(cluster, "servedBy")),
                new Text(Field.Text(cluster, "servingFor")));
        }

        if (Field.Bool(answer, "degraded") != true)
        {
            return table;
        }

        var reason = Field.Text(answer, "reason");
        return new Rows(new Text($"degraded: no cluster is healthy{(reason.Length > 0 ? " (" + reason + ")" : "")}\n", new Style(Color.Red)), table);
    }
}
