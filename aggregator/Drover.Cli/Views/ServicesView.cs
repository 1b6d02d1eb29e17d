using System.Text.Json;
using Spectre.Console.Rendering;

namespace Drover.Cli.Views;

/// <summary><c>droverctl services</c>: the definitions of <c>GET /v1/services</c>, one row each.</summary>
internal static class ServicesView
{
    public static IRenderable Render(JsonElement services, bool plain)
    {
        var table = Tables.Create(plain, "SERVICE", "VERSION", "INSTANCES", "POLICY", "ROUTING", "SLO", "PUBLIC", "COMMAND");
        foreach (var service in Field.Items(services).OrderBy(s => Field.Text(s, "name"), StringComparer.Ordinal))
        {
            Tables.AddRow(
                table,
                Field.Text(service, "name"),
                Field.Text(service, "version"),
                Field.Text(service, "instanceCount"),
                Field.Text(service, "policy"),
                Routing(Field.Get(service, "routingField")),
                Field.Text(service, "slo"),
                Field.Text(service, "public"),
                FunctionsView.Command(Field.Get(service, "runtime")));
        }

        return table;
    }

    private static string Routing(JsonElement routingField)
        => Field.Text(routingField, "header") is { Length: > 0 } header ? $"header {header}"
            : Field.Text(routingField, "jsonField") is { Length: > 0 } json ? $"json {json}"
            : "";
}
