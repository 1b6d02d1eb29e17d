using Serilog.Events;
using Serilog.Parsing;

namespace Drover.Hosting.Tests;

/// <summary>Log lines under systemd: the journal's priority on every line, and the journal recognised only as the process's own output.</summary>
public sealed class JournalFormatterTests
{
    [Theory]
    [InlineData(LogEventLevel.Debug, "<7>")]
    [InlineData(LogEventLevel.Information, "<6>")]
    [InlineData(LogEventLevel.Warning, "<4>")]
    [InlineData(LogEventLevel.Error, "<3>")]
    [InlineData(LogEventLevel.Fatal, "<2>")]
    public void Format_EveryLineCarriesThePriority_NoTimestamp(LogEventLevel level, string priority)
    {
        var template = new MessageTemplateParser().Parse("GPU {Uuid} is {Health}");
        var properties = new[]
        {
            new LogEventProperty("Uuid", new ScalarValue("GPU-1")),
            new LogEventProperty("Health", new ScalarValue("unhealthy")),
            new LogEventProperty("SourceContext", new ScalarValue("Drover.Agent.Telemetry")),
        };
        var exception = new InvalidOperationException("first line\nsecond line");
        var logEvent = new LogEvent(DateTimeOffset.UnixEpoch, level, exception, template, properties);
        using var output = new StringWriter();

        new JournalFormatter().Format(logEvent, output);

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"{priority}Drover.Agent.Telemetry: GPU GPU-1 is unhealthy", lines[0]);
        Assert.True(lines.Length >= 3, output.ToString());
        Assert.All(lines, line => Assert.StartsWith(priority, line, StringComparison.Ordinal));
        Assert.DoesNotContain("1970", output.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("8:12345", "socket:[12345]", true)]
    [InlineData("8:12345", "socket:[99]", false)] // inherited, but this process writes elsewhere
    [InlineData("8:12345", "/dev/pts/0", false)]
    [InlineData(null, "socket:[12345]", false)]
    [InlineData("", "socket:[12345]", false)]
    [InlineData("garbage", "socket:[12345]", false)]
    [InlineData("8:12345", null, false)]
    public void IsJournal_OnlyWhenStandardOutputIsTheNamedStream(string? journalStream, string? standardOutput, bool expected)
        => Assert.Equal(expected, JournalFormatter.IsJournal(journalStream, standardOutput));
}
