using System.Text.Json;
using Spectre.Console.Rendering;

namespace Drover.Cli.Views;

/// <summary><c>droverctl functions</c>: the definitions of <c>GET /v1/functions</c>, one row each.</summary>
internal static class FunctionsView
{
    public static IRenderable Render(JsonElement functions, bool plain)
    {
        var table = Tables.Create(plain, "FUNCTION", "VERSION", "PLACEMENT", "INSTANCES", "SLO", "QUEUE", "GPU", "PUBLIC", "COMMAND");
        foreach (var function in Field.Items(functions).OrderBy(f => Field.Text(f, "name"), StringComparer.Ordinal))
        {
            Tables.AddRow(
                table,
                Field.Text(function, "name"),
                Field.Text(function, "version"),
                Placement(function),
                Instances(function),
                Field.Text(function, "slo"),
                Field.Text(function, "queueLength"),
                Field.Text(function, "gpu"),
                Field.Text(function, "public"),
                Command(Field.Get(function, "runtime")));
        }

        return table;
    }

    /// <summary>The placement as the aggregator applies it: autoscale when <c>maxInstances</c> is given without one.</summary>
    public static string Placement(JsonElement function)
    {
        var placement = Field.Text(function, "placement");
        return placement.Length > 0 ? placement : Field.Number(function, "maxInstances") is null ? "every-node" : "autoscale";
    }

    /// <summary>"min..max" for an autoscaled function, empty for one on every node.</summary>
    public static string Instances(JsonElement function)
        => Placement(function) == "autoscale" ? $"{Field.Text(function, "minInstances")}..{Field.Text(function, "maxInstances")}" : "";

    /// <summary>The runtime's command and its arguments, as one line.</summary>
    public static string Command(JsonElement runtime)
        => string.Join(' ', new[] { Field.Text(runtime, "command") }.Concat(Field.Items(runtime, "args").Select(Field.Text)).Where(s => s.Length > 0));
}
