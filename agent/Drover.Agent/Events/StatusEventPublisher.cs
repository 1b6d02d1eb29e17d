using Drover.Agent.Link;
using Drover.Protocol.V1;

namespace Drover.Agent.Events;

/// <summary>
/// Sends the shims' status messages to the aggregator, which numbers them on their channels. What
/// cannot be sent now (no stream open, its outbox full, or queued on a stream that broke before the
/// message was written) is kept in a bounded buffer, oldest dropped first with a logged count, and
/// sent in order as soon as there is room, so a short break of the stream loses nothing.
/// </summary>
internal sealed partial class StatusEventPublisher : IStatusEventSink
{
    /// <summary>How many status messages wait for the stream before the oldest are dropped.</summary>
    public const int DefaultCapacity = 10_000;

    private readonly AgentOutbox _outbox;
    private readonly ILogger<StatusEventPublisher> _logger;
    private readonly int _capacity;
    private readonly Lock _lock = new();

    // Not yet handed to the outbox, oldest first.
    private readonly Queue<StatusEvent> _pending = new();

    // Handed to the outbox and not yet known written: sent again if their stream breaks first.
    private readonly Queue<(StatusEvent Event, Task Written)> _inFlight = new();
    private bool _resumeArmed;

    public StatusEventPublisher(AgentOutbox outbox, ILogger<StatusEventPublisher> logger)
        : this(outbox, logger, DefaultCapacity)
    {
    }

    /// <summary>A seam for tests: a smaller buffer.</summary>
    internal StatusEventPublisher(AgentOutbox outbox, ILogger<StatusEventPublisher> logger, int capacity)
    {
        _outbox = outbox;
        _logger = logger;
        _capacity = capacity;
        outbox.Connected += OnConnected;
        outbox.Disconnected += OnDisconnected;
    }

    /// <summary>Messages waiting for room on a stream.</summary>
    public int Pending
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    public void Publish(StatusEvent statusEvent)
    {
        lock (_lock)
        {
            _pending.Enqueue(statusEvent);
            TrimLocked();
            FlushLocked();
        }
    }

    private void OnConnected()
    {
        lock (_lock)
        {
            FlushLocked();
        }
    }

    private void OnDisconnected()
    {
        lock (_lock)
        {
            // The outbox of the broken stream failed what it had not written: those go first again.
            var again = _inFlight.Where(m => !m.Written.IsCompletedSuccessfully).Select(m => m.Event).ToList();
            _inFlight.Clear();
            if (again.Count == 0)
            {
                return;
            }

            again.AddRange(_pending);
            _pending.Clear();
            foreach (var statusEvent in again)
            {
                _pending.Enqueue(statusEvent);
            }

            TrimLocked();
        }
    }

    private void FlushLocked()
    {
        while (_inFlight.TryPeek(out var head) && head.Written.IsCompletedSuccessfully)
        {
            _inFlight.Dequeue();
        }

        Task? lastWritten = null;
        while (_pending.TryPeek(out var next))
        {
            var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_outbox.TrySend(new OutgoingMessage(new AgentMessage { StatusEvent = next }, written)))
            {
                break;
            }

            _pending.Dequeue();
            _inFlight.Enqueue((next, written.Task));
            lastWritten = written.Task;
        }

        // The outbox is full: send the rest once the last message that fitted has been written,
        // rather than wait for the next Publish, which may never come. (With no stream open, the
        // next Connected sends them.)
        if (_pending.Count > 0 && !_resumeArmed && (lastWritten ?? _inFlight.LastOrDefault().Written) is { IsCompleted: false } resume)
        {
            _resumeArmed = true;
            resume.ContinueWith(
                _ =>
                {
                    lock (_lock)
                    {
                        _resumeArmed = false;
                        FlushLocked();
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default);
        }
    }

    private void TrimLocked()
    {
        var dropped = 0;
        while (_pending.Count > _capacity)
        {
            _pending.Dequeue();
            dropped++;
        }

        if (dropped > 0)
        {
            Log.Dropped(_logger, dropped, _capacity);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3101, EventName = "StatusEventsDropped", Level = LogLevel.Warning,
            Message = "Dropped the {Count} oldest status messages: {Capacity} were already waiting for the aggregator's stream.")]
        public static partial void Dropped(ILogger logger, int count, int capacity);
    }
}
