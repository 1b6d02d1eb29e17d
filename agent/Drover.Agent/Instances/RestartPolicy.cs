namespace Drover.Agent.Instances;

/// <summary>
/// When a crashed instance is started again: after 100 ms, doubling up to a cap; a run that lasted
/// the stable time resets the count; after <see cref="CrashLoopLimit"/> quick crashes in a row the
/// instance is failed instead of spinning.
/// </summary>
internal sealed record RestartPolicy(TimeSpan Initial, TimeSpan Maximum, TimeSpan StableRun, int CrashLoopLimit, TimeSpan StopGrace)
{
    public static readonly RestartPolicy Default = new(
        TimeSpan.FromMilliseconds(100),
        TimeSpan.FromSeconds(10),
        TimeSpan.FromSeconds(30),
        CrashLoopLimit: 5,
        StopGrace: TimeSpan.FromSeconds(5));

    /// <summary>The delay before restart number <paramref name="consecutiveCrashes"/> (1 for the first) of a crash streak.</summary>
    public TimeSpan DelayAfter(int consecutiveCrashes)
    {
        var delay = Initial;
        for (var i = 1; i < consecutiveCrashes && delay < Maximum; i++)
        {
            delay *= 2;
        }

        return delay > Maximum ? Maximum : delay;
    }

    /// <summary>Whether a streak of quick crashes has reached the limit.</summary>
    public bool IsCrashLoop(int consecutiveCrashes) => consecutiveCrashes > CrashLoopLimit;
}
