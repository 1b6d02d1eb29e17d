using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Drover.Cli.Views;

/// <summary><c>droverctl leader</c>: <c>GET /v1/leader</c>, one row: the aggregator asked, its role, and the leader it knows.</summary>
internal static class LeaderView
{
    public static IRenderable Render(JsonElement answer, bool plain)
    {
        var table = Tables.Create(plain, "ASKED", "ROLE", "LEADER", "TERM", "API", "LINK", "SINCE", "STORE");
        var leader = answer.TryGetProperty("leader", out var named) && named.ValueKind == JsonValueKind.Object ? named : (JsonElement?)null;
        table.AddRow(
            new Text(Field.Text(answer, "aggregatorId")),
            new Text(Field.Text(answer, "role")),
            leader is { } l ? new Text(Field.Text(l, "aggregatorId")) : new Text("none (an election is under way, or the store cannot be read)", new Style(Color.Red)),
            new Text(Field.Text(answer, "term")),
            new Text(leader is { } a ? Field.Text(a, "apiUrl") : ""),
            new Text(leader is { } k ? Field.Text(k, "linkUrl") : ""),
            new Text(leader is { } s ? Field.Text(s, "since") : ""),
            new Text(Field.Text(answer, "store")));
        return table;
    }
}
