namespace Drover.Decisions.Health;

/// <summary>
/// Failback with hysteresis: a cluster that falls below its threshold is unhealthy at once, but one
/// that comes back is <see cref="ClusterHealthState.Recovering"/> (not serving) until it has stayed at
/// or above its threshold for the failback wait without a break, so a flapping cluster does not pull
/// its traffic back and forth.
/// </summary>
internal static class FailbackHysteresis
{
    /// <summary>
    /// The next state of a cluster.
    /// <list type="bullet">
    /// <item>First sight (no previous state): Healthy with zero healthy time when at the threshold,
    /// else Unhealthy; no transition either way, since nothing changed from a known state.</item>
    /// <item>Below the threshold: Unhealthy, healthy time reset to zero (a transition unless it already was).</item>
    /// <item>Healthy and at the threshold: stays Healthy, healthy time grows by <paramref name="elapsed"/>.</item>
    /// <item>Unhealthy and at the threshold: healthy time starts at zero (it is first seen healthy now:
    /// when within the last interval it recovered is unknown, and the wait must not be cut short);
    /// Healthy (failback) at once when <paramref name="failbackAfter"/> is zero, else Recovering.
    /// Either is a transition.</item>
    /// <item>Recovering and at the threshold: healthy time grows by <paramref name="elapsed"/>; Healthy
    /// (a transition) once it reaches <paramref name="failbackAfter"/>, else stays Recovering.</item>
    /// </list>
    /// A zero <paramref name="failbackAfter"/> fails back at once. Negative durations count as zero.
    /// </summary>
    public static HealthStep Next(bool atThreshold, PreviousClusterHealth? previous, TimeSpan elapsed, TimeSpan failbackAfter)
    {
        elapsed = NotNegative(elapsed);
        failbackAfter = NotNegative(failbackAfter);
        if (previous is null)
        {
            return new HealthStep(atThreshold ? ClusterHealthState.Healthy : ClusterHealthState.Unhealthy, TimeSpan.Zero, null);
        }

        var from = previous.Health;
        if (!atThreshold)
        {
            return new HealthStep(ClusterHealthState.Unhealthy, TimeSpan.Zero, from == ClusterHealthState.Unhealthy ? null : from);
        }

        switch (from)
        {
            case ClusterHealthState.Healthy:
                return new HealthStep(ClusterHealthState.Healthy, Add(NotNegative(previous.HealthyFor), elapsed), null);
            case ClusterHealthState.Recovering:
                var healthyFor = Add(NotNegative(previous.HealthyFor), elapsed);
                return healthyFor >= failbackAfter
                    ? new HealthStep(ClusterHealthState.Healthy, healthyFor, from)
                    : new HealthStep(ClusterHealthState.Recovering, healthyFor, null);
            default:
                // Unhealthy: its healthy time starts now, whatever the previous record carried.
                return failbackAfter == TimeSpan.Zero
                    ? new HealthStep(ClusterHealthState.Healthy, TimeSpan.Zero, from)
                    : new HealthStep(ClusterHealthState.Recovering, TimeSpan.Zero, from);
        }
    }

    private static TimeSpan NotNegative(TimeSpan value) => value < TimeSpan.Zero ? TimeSpan.Zero : value;

    // Saturates rather than overflowing: a cluster healthy for ages must not throw.
    private static TimeSpan Add(TimeSpan a, TimeSpan b) => a > TimeSpan.MaxValue - b ? TimeSpan.MaxValue : a + b;
}
