using System.Collections.Concurrent;
using System.Globalization;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Xunit.Abstractions;

namespace Drover.Aggregator.Tests;

/// <summary>
/// A Serilog sink that keeps every event, for tests that check what a host logged, and writes each to
/// the test's output when given one.
/// </summary>
internal sealed class RecordingSink(ITestOutputHelper? output = null) : ILogEventSink
{
    private readonly ConcurrentQueue<LogEvent> _events = new();

    public IReadOnlyList<LogEvent> Events => [.. _events];

    /// <summary>A logger writing here from <see cref="LogEventLevel.Information"/> up.</summary>
    public Serilog.ILogger CreateLogger() => new LoggerConfiguration().WriteTo.Sink(this).CreateLogger();

    /// <summary>The events logged with the Microsoft.Extensions.Logging event name <paramref name="eventName"/>.</summary>
    public IReadOnlyList<LogEvent> Named(string eventName)
        => Events.Where(e => e.Properties.TryGetValue("EventId", out var id)
            && id is StructureValue structure
            && structure.Properties.Any(p => p.Name == "Name" && p.Value is ScalarValue { Value: string name } && name == eventName)).ToList();

    public void Emit(LogEvent logEvent)
    {
        _events.Enqueue(logEvent);
        try
        {
            output?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{logEvent.Timestamp:HH:mm:ss.fff} {logEvent.Level} {logEvent.RenderMessage(CultureInfo.InvariantCulture)}"));
        }
        catch (InvalidOperationException)
        {
            // The test has ended; the host still logs while it stops.
        }
    }
}
