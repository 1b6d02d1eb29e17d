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
    /// Whether a node survives: it says it is <c>alive</c> (<paramref name="alive"/>: not draining,
    /// stopping or lost), its stream is open, its heartbeat is fresh (not <see cref="IsLost"/>), and no
    /// survival probe sent on its stream has gone unanswered for <paramref name="probeTimeout"/> or
    /// longer. Exactly at the timeout counts as unanswered, like the lease. No probe outstanding
    /// (<paramref name="oldestUnansweredProbe"/> null: none sent yet, or all answered) does not count
    /// against the node.
    /// </summary>
    /// <param name="alive">The node's survival state is <c>alive</c>.</param>
    /// <param name="connected">The node has an open stream to this aggregator.</param>
    /// <param name="sinceLastHeartbeat">How long ago its last heartbeat arrived.</param>
    /// <param name="heartbeatInterval">The heartbeat interval agents are told.</param>
    /// <param name="missedHeartbeats">How many whole intervals may be missed before the node is lost.</param>
    /// <param name="oldestUnansweredProbe">The age of the oldest probe without a reply, or null when none is outstanding.</param>
    /// <param name="probeTimeout">How long a probe may go unanswered.</param>
    public static bool Survives(
        bool alive,
        bool connected,
        TimeSpan sinceLastHeartbeat,
        TimeSpan heartbeatInterval,
        int missedHeartbeats,
        TimeSpan? oldestUnansweredProbe,
        TimeSpan probeTimeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(probeTimeout, TimeSpan.Zero);
        return alive
            && connected
            && !IsLost(sinceLastHeartbeat, heartbeatInterval, missedHeartbeats)
            && !(oldestUnansweredProbe >= probeTimeout);
    }

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
