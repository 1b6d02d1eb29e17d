using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Drover.Testing;

/// <summary>
/// A logger that keeps every entry, can wait for an event to be logged, and echoes entries to the
/// test output when one is given.
/// </summary>
internal sealed class CapturingLogger<T> : ILogger<T>
{
    /// <summary>How long a wait for an entry lasts: generous, for a loaded 2-core machine.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly ConcurrentQueue<LogEntry> _entries = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource> _waiters = new();
    private readonly ITestOutputHelper? _output;
    private readonly List<(int EventId, int Count, TaskCompletionSource Done)> _countWaiters = [];

    public CapturingLogger(ITestOutputHelper? output = null)
    {
        _output = output;
    }

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var entry = new LogEntry(logLevel, eventId.Id, formatter(state, exception), exception);
        _entries.Enqueue(entry);
        if (_output is not null && logLevel >= LogLevel.Information)
        {
            try
            {
                _output.WriteLine($"[{logLevel}] {eventId.Id}: {entry.Message}{(exception is null ? "" : " " + exception)}");
            }
            catch (InvalidOperationException)
            {
                // The test has already ended.
            }
        }

        _waiters.GetOrAdd(eventId.Id, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        lock (_countWaiters)
        {
            CompleteCountWaiters();
        }
    }

    /// <summary>Completes once at least <paramref name="count"/> entries with the event id have been logged.</summary>
    public Task WaitForEventCountAsync(int eventId, int count)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_countWaiters)
        {
            _countWaiters.Add((eventId, count, done));
            CompleteCountWaiters();
        }

        return done.Task.WaitAsync(Timeout);
    }

    private void CompleteCountWaiters()
    {
        foreach (var waiter in _countWaiters.Where(w => _entries.Count(e => e.EventId == w.EventId) >= w.Count).ToList())
        {
            waiter.Done.TrySetResult();
            _countWaiters.Remove(waiter);
        }
    }

    /// <summary>Completes once an entry with the event id has been logged (at any time before or after the call).</summary>
    public Task WaitForEventAsync(int eventId)
        => _waiters.GetOrAdd(eventId, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task
            .WaitAsync(Timeout);

    public sealed record LogEntry(LogLevel Level, int EventId, string Message, Exception? Exception);
}
