using Spectre.Console;
using Spectre.Console.Rendering;

namespace Drover.Cli.Views;

/// <summary>How every droverctl table looks: rounded borders, or plain columns (see <see cref="Output.CliOutput.Write"/>).</summary>
internal static class Tables
{
    public static Table Create(bool plain, params string[] headers)
    {
        var table = new Table().Border(plain ? TableBorder.None : TableBorder.Rounded);
        foreach (var header in headers)
        {
            var column = new TableColumn(new Text(header, new Style(decoration: Decoration.Bold))).NoWrap();

            // Plain columns are three spaces apart, as kubectl's: headers of two words stay readable as one.
            table.AddColumn(plain ? column.PadLeft(0).PadRight(3) : column);
        }

        return table;
    }

    /// <summary>A row of plain text cells, never read as markup.</summary>
    public static void AddRow(Table table, params string[] cells)
        => table.AddRow(cells.Select(c => (IRenderable)new Text(c)).ToArray());

    /// <summary>A value in a colour: green for a good state, yellow for a passing one, red for a bad one.</summary>
    public static IRenderable State(string value) => new Text(value, new Style(Colour(value)));

    private static Color Colour(string value) => value switch
    {
        "alive" or "healthy" or "ok" or "running" or "yes" or "created" or "configured" => Color.Green,
        "draining" or "stopping" or "recovering" or "degraded" or "starting" or "assigned" or "restarting" => Color.Yellow,
        "lost" or "unhealthy" or "failed" or "unavailable" or "no" => Color.Red,
        _ => Color.Default,
    };
}
