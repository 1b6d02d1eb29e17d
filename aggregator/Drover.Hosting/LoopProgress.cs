namespace Drover.Hosting;

/// <summary>
/// When one loop the systemd watchdog watches last completed an iteration. The loop marks it from its own
/// thread; the watchdog reads it from the thread that pets it, so the timestamp is read and written atomically.
/// </summary>
public sealed class LoopProgress
{
    private readonly TimeProvider _time;
    private readonly Func<TimeSpan> _period;
    private long _lastCompleted;

    /// <param name="name">How the watchdog's log names the loop.</param>
    /// <param name="period">How often the loop means to complete an iteration (read at each check, since the heartbeat interval can change).</param>
    /// <param name="time">The clock the marks are taken on.</param>
    public LoopProgress(string name, Func<TimeSpan> period, TimeProvider time)
    {
        Name = name;
        _period = period;
        _time = time;
        // A loop that has not completed its first iteration yet is given the same grace from start-up as
        // one that just did, so a first sample that hangs is caught too.
        _lastCompleted = time.GetTimestamp();
    }

    public string Name { get; }

    public TimeSpan Period => _period();

    /// <summary>How long ago the loop last completed an iteration (or was created, before its first).</summary>
    public TimeSpan SinceLastCompleted => _time.GetElapsedTime(Volatile.Read(ref _lastCompleted));

    /// <summary>Called by the loop at the end of each iteration.</summary>
    public void Completed() => Volatile.Write(ref _lastCompleted, _time.GetTimestamp());
}
