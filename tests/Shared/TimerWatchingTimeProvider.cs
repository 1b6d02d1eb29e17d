using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.Leadership;

/// <summary>
/// A fake clock that says when a timer of one due time is created: the loop under test has then done its round of
/// store calls and waits on that timer, so a test moves the clock (or reads the store) knowing where the loop stands.
/// </summary>
internal sealed class TimerWatchingTimeProvider(TimeSpan watched) : FakeTimeProvider
{
    /// <summary>A safety net only: the waits end as soon as the timer is made.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly Channel<bool> _created = Channel.CreateUnbounded<bool>();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        if (dueTime == watched)
        {
            _created.Writer.TryWrite(true);
        }

        return timer;
    }

    /// <summary>Waits for the next watched timer not waited for yet.</summary>
    public async Task NextTimerAsync()
    {
        using var timeout = new CancellationTokenSource(Bound);
        await _created.Reader.ReadAsync(timeout.Token);
    }
}
