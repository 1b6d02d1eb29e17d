using System.Globalization;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Display;

namespace Drover.Hosting;

/// <summary>
/// Log lines as systemd's journal reads a service's output (sd-daemon(3)): every line, an exception's too, starts
/// with its syslog priority in angle brackets, so <c>journalctl -p warning</c> finds the warnings; no timestamp, the
/// journal keeps its own.
/// </summary>
public sealed class JournalFormatter : ITextFormatter
{
    private readonly MessageTemplateTextFormatter _line = new("{SourceContext}: {Message:lj}{NewLine}{Exception}", CultureInfo.InvariantCulture);

    /// <summary>
    /// Whether this process's standard output is the journal's stream: systemd names that stream in JOURNAL_STREAM
    /// (<c>device:inode</c>), and a child that inherited the variable but writes elsewhere must not take its format.
    /// </summary>
    /// <param name="journalStream">The JOURNAL_STREAM variable, if set.</param>
    /// <param name="standardOutput">What standard output is, as /proc/self/fd/1 links to it (<c>socket:[inode]</c>).</param>
    public static bool IsJournal(string? journalStream, string? standardOutput)
        => journalStream?.Split(':') is [_, var inode] && inode.Length > 0 && standardOutput == $"socket:[{inode}]";

    /// <summary><see cref="IsJournal(string?, string?)"/> for this process.</summary>
    public static bool StandardOutputIsJournal()
    {
        try
        {
            return IsJournal(Environment.GetEnvironmentVariable("JOURNAL_STREAM"), new FileInfo("/proc/self/fd/1").LinkTarget);
        }
        catch (IOException)
        {
            return false;
        }
    }

    public void Format(LogEvent logEvent, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        ArgumentNullException.ThrowIfNull(output);
        var prefix = logEvent.Level switch
        {
            LogEventLevel.Verbose or LogEventLevel.Debug => "<7>",
            LogEventLevel.Information => "<6>",
            LogEventLevel.Warning => "<4>",
            LogEventLevel.Error => "<3>",
            _ => "<2>",
        };
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        _line.Format(logEvent, text);
        foreach (var line in text.ToString().Split('\n'))
        {
            if (line.Length > 0)
            {
                output.Write(prefix);
                output.Write(line.TrimEnd('\r'));
                output.Write('\n');
            }
        }
    }
}
