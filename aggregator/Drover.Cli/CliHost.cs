namespace Drover.Cli;

/// <summary>
/// What droverctl reads and writes outside itself: its streams, its environment, whether stdout is a terminal, and
/// where its executable is. <see cref="FromProcess"/> is the real process; tests pass their own (a seam for tests).
/// </summary>
internal sealed class CliHost
{
    public required TextWriter Out { get; init; }

    public required TextWriter Error { get; init; }

    public required TextReader In { get; init; }

    /// <summary>An environment variable, or null when it is not set.</summary>
    public required Func<string, string?> Environment { get; init; }

    /// <summary>Whether stdout is a terminal (tables get borders and colour there, see <see cref="Output.CliOutput"/>).</summary>
    public bool OutIsTerminal { get; init; }

    /// <summary>The terminal's width in columns, when <see cref="OutIsTerminal"/>.</summary>
    public int TerminalWidth { get; init; } = 80;

    /// <summary>droverctl's own executable: <c>certs</c> looks for drover-aggregator beside it.</summary>
    public string? ExecutablePath { get; init; }

    public static CliHost FromProcess()
    {
        var terminal = !Console.IsOutputRedirected;
        return new CliHost
        {
            Out = Console.Out,
            Error = Console.Error,
            In = Console.In,
            Environment = System.Environment.GetEnvironmentVariable,
            OutIsTerminal = terminal,
            TerminalWidth = terminal ? WindowWidth() : 80,
            ExecutablePath = System.Environment.ProcessPath,
        };
    }

    private static int WindowWidth()
    {
        try
        {
            return Console.WindowWidth is > 0 and var width ? width : 80;
        }
        catch (IOException)
        {
            return 80;
        }
    }
}
