using Spectre.Console.Rendering;
using Spectre.Console.Testing;

namespace Drover.Cli.Tests.Views;

/// <summary>A view drawn on Spectre.Console's test console, as lines without trailing blanks.</summary>
internal static class Render
{
    public static string[] Lines(IRenderable view, int width = 400)
    {
        using var console = new TestConsole();
        console.Width(width);
        console.Write(view);
        return console.Output.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToArray();
    }

    /// <summary>The cells of a plain table's line: columns are three or more spaces apart.</summary>
    public static string[] Cells(string line)
        => System.Text.RegularExpressions.Regex.Split(line.Trim(), " {3,}");
}
