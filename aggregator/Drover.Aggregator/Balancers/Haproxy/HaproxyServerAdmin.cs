namespace Drover.Aggregator.Balancers.Haproxy;

/// <summary>
/// A server's administrative state in HAProxy, as <c>set server &lt;backend&gt;/&lt;server&gt; state</c>
/// takes it and as <c>show servers state</c> reports it (folded from the <c>srv_admin_state</c> bits).
/// </summary>
internal enum HaproxyServerAdmin
{
    /// <summary>Takes traffic (unless its health checks say it is down).</summary>
    Ready,

    /// <summary>Taken out of load balancing: keeps its persistent sessions and its checks, gets no new traffic.</summary>
    Drain,

    /// <summary>Maintenance: no traffic and no checks. HAProxy deletes a server only in this state.</summary>
    Maint,
}
