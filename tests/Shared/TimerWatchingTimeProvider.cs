using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Testing;

/// <summary>
/// A fake clock that says when the code under test creates a timer it watches, and that timer's due time: the code
/// has then reached the point where it waits on that timer, so a test moves the clock (or reads what the code did
/// before it) knowing where the code stands, and moves it by exactly the due time to fire that timer, never by a step
/// guessed beside real time. Only timers given a finite due time when they are created are watched.
/// </summary>
internal sealed class TimerWatchingTimeProvider : FakeTimeProvider
{
    /// <summary>A safety net only: the waits end as soon as the timer is made.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly Func<TimeSpan, bool> _watched;
    private readonly Channel<TimeSpan> _created = Channel.CreateUnbounded<TimeSpan>();

    /// <summary>Watches the timers created with due time <paramref name="watched"/>.</summary>
    public TimerWatchingTimeProvider(TimeSpan watched)
        : this(due => due == watched)
    {
    }

    /// <summary>Watches the timers created with a finite due time that <paramref name="watched"/> accepts.</summary>
    public TimerWatchingTimeProvider(Func<TimeSpan, bool> watched) => _watched = watched;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        // Armed before it is reported: a test that advances by the due time it was told fires this timer.
        var timer = base.CreateTimer(callback, state, dueTime, period);
        if (dueTime != Timeout.InfiniteTimeSpan && _watched(dueTime))
        {
            _created.Writer.TryWrite(dueTime);
        }

        return timer;
    }

    /// <summary>
    /// Waits for the next watched timer not waited for yet (created before or after the call) and returns its due time:
    /// <c>Advance</c> by it fires that timer, when the clock has not moved since it was made. Throws
    /// <see cref="TimeoutException"/> when none is made within <see cref="Bound"/>.
    /// </summary>
    /// <param name="cancellationToken">Ends the wait (an <see cref="OperationCanceledException"/>) when a test no longer needs it.</param>
    public async Task<TimeSpan> NextTimerAsync(CancellationToken cancellationToken = default)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(Bound);
        try
        {
            return await _created.Reader.ReadAsync(bound.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"No watched timer was created within {Bound.TotalSeconds} s.");
        }
    }
}
