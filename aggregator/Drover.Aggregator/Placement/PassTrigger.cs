namespace Drover.Aggregator.Placement;

/// <summary>
/// What starts a decision loop's next pass: the end of its period, or a <see cref="Wake"/> (an event
/// that matters). Wakes that arrive before the pass runs make one pass, not one each.
/// </summary>
internal sealed class PassTrigger
{
    private readonly SemaphoreSlim _wake = new(0);
    private readonly TimeProvider _time;
    private int _requested;

    public PassTrigger(TimeProvider time) => _time = time;

    /// <summary>Asks for a pass now rather than at the end of the period.</summary>
    public void Wake()
    {
        if (Interlocked.Exchange(ref _requested, 1) == 0)
        {
            _wake.Release();
        }
    }

    /// <summary>Waits for a wake or <paramref name="period"/>, whichever comes first; throws only when <paramref name="stoppingToken"/> is cancelled.</summary>
    public async Task WaitAsync(TimeSpan period, CancellationToken stoppingToken)
    {
        // The period runs on the injected clock, so a test that advances it ends the wait.
        using var timeout = new CancellationTokenSource(period, _time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, timeout.Token);
        try
        {
            await _wake.WaitAsync(either.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
        }

        // Wakes from here on ask for the pass after the one about to run.
        Interlocked.Exchange(ref _requested, 0);
    }
}
