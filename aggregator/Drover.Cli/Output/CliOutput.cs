using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Drover.Cli.Output;

/// <summary>
/// Where a command's result goes: tables through Spectre.Console, or JSON. On a terminal a table has borders when it
/// fits the terminal's width, and is drawn as plain columns (kubectl's way) when it does not, rather than squeezed
/// into wrapped cells; colour only there, with NO_COLOR unset (https://no-color.org). Elsewhere (a pipe, a file)
/// always plain columns as wide as they need, for grep and awk.
/// </summary>
internal sealed class CliOutput
{
    /// <summary>The width tables may take when stdout is not a terminal: wide enough that no cell wraps.</summary>
    public const int PlainWidth = 4096;

    private readonly TextWriter _out;
    private readonly int _terminalWidth;

    public CliOutput(CliHost host, OutputFormat format)
    {
        _out = host.Out;
        Format = format;
        Colour = host.OutIsTerminal && string.IsNullOrEmpty(host.Environment("NO_COLOR")) && host.Environment("TERM") != "dumb";

        // Decided here rather than by Spectre's detection, which reads the process's environment and its CI enrichers.
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = Colour ? AnsiSupport.Yes : AnsiSupport.No,
            ColorSystem = Colour ? ColorSystemSupport.Standard : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Enrichment = new ProfileEnrichment { UseDefaultEnrichers = false },
            Out = new AnsiConsoleOutput(host.Out),
        });
        Console.Profile.Width = PlainWidth;
        _terminalWidth = host.OutIsTerminal ? Math.Max(40, host.TerminalWidth) : 0;
    }

    public OutputFormat Format { get; }

    /// <summary>Whether colours are drawn: stdout is a terminal (not TERM=dumb) and NO_COLOR is unset or empty.</summary>
    public bool Colour { get; }

    public bool Json => Format == OutputFormat.Json;

    public IAnsiConsole Console { get; }

    /// <summary>
    /// Writes a view, drawn with borders (<paramref name="render"/>(false)) where that fits a terminal, else as
    /// plain columns (<paramref name="render"/>(true)).
    /// </summary>
    public void Write(Func<bool, IRenderable> render)
    {
        if (_terminalWidth > 0)
        {
            var bordered = render(false);
            if (Width(bordered) <= _terminalWidth)
            {
                Console.Write(bordered);
                return;
            }
        }

        Console.Write(render(true));
    }

    /// <summary>The widest line of <paramref name="renderable"/> drawn without a width limit.</summary>
    private static int Width(IRenderable renderable)
    {
        using var text = new StringWriter();
        var measuring = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Enrichment = new ProfileEnrichment { UseDefaultEnrichers = false },
            Out = new AnsiConsoleOutput(text),
        });
        measuring.Profile.Width = PlainWidth;
        measuring.Write(renderable);
        return text.ToString().Split('\n').Max(line => line.TrimEnd().Length);
    }

    /// <summary>A JSON value, indented, on its own lines.</summary>
    public void WriteJson(JsonElement value) => _out.WriteLine(JsonText.Write(value));

    /// <summary>A JSON value on one line (a stream's items, one per line).</summary>
    public void WriteJsonLine(JsonElement value)
    {
        _out.WriteLine(JsonText.Write(value, indented: false));
        _out.Flush();
    }

    /// <summary>A line of text, never read as markup.</summary>
    public void WriteLine(string text)
    {
        Console.Write(new Text(text + "\n"));
    }
}
