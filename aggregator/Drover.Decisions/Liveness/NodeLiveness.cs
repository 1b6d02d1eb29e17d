namespace Drover.Decisions.Liveness;

/// <summary>
/// Decides whether a node is lost from how long ago the aggregator last heard its heartbeat.
/// Pure: the caller supplies the ages, read from the aggregator's own clock.
/// </summary>
public static class NodeLiveness
{
    /// <summary>
    /// The lease: how long after its last heartbeat a node is declared lost.
    /// </summary>
    public static TimeSpan Lease(TimeSpan heartbeatInterval, int missedHeartbeats)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(heartbeatInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(missedHeartbeats, 1);
        return heartbeatInterval * missedHeartbeats;
    }

    /// <summary>
    /// A node is lost once it has missed <paramref name="missedHeartbeats"/> whole intervals: its last
    /// heartbeat is at least one lease old. Exactly at the lease counts as lost, so a node killed right
    /// after a heartbeat is lost after the lease and not one monitoring tick later.
    /// </summary>
    public static bool IsLost(TimeSpan sinceLastHeartbeat, TimeSpan heartbeatInterval, int missedHeartbeats)
        => sinceLastHeartbeat >= Lease(heartbeatInterval, missedHeartbeats);

    /// <summary>
    /// When the next liveness check is due: at the earliest lease expiry among the nodes still
    /// live, but never later than <paramref name="period"/> from now. Lets the monitor wake exactly
    /// when a lease runs out instead of up to one period after.
    /// </summary>
    public static TimeSpan NextCheckIn(
        IEnumerable<TimeSpan> liveNodesSinceLastHeartbeat,
        TimeSpan heartbeatInterval,
        int missedHeartbeats,
        TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(liveNodesSinceLastHeartbeat);
        var lease = Lease(heartbeatInterval, missedHeartbeats);
        var next = period;
        foreach (var age in liveNodesSinceLastHeartbeat)
        {
            var remaining = lease - age;
            if (remaining < next)
            {
                next = remaining;
            }
        }

        return next < TimeSpan.Zero ? TimeSpan.Zero : next;
    }
}
