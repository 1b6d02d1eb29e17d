namespace Drover.Decisions.Scaling;

/// <summary>
/// The two rules the autoscaler's snapshot is built with: which nodes may take a new instance, and
/// how long a function's request queue is. Pure, so the host only gathers their inputs.
/// </summary>
public static class ScalingRules
{
    /// <summary>
    /// A node may take a new autoscaled instance when it survives, its cluster serves traffic now
    /// (<paramref name="servingClusters"/>: the clusters with a share above 0; null before the first
    /// health decision, when every cluster may), and it is not penalised for a failed start.
    /// </summary>
    public static bool MayTakeInstances(bool survives, string cluster, IReadOnlySet<string>? servingClusters, bool penalised)
        => survives && !penalised && (servingClusters is null || servingClusters.Contains(cluster));

    /// <summary>
    /// A function's request queue length: queued plus in-flight requests over its nodes that are not
    /// lost (a lost node's last counters are stale), plus what the gateway holds and has not forwarded
    /// (a forwarded request is already in its shim's count). Clamped to <see cref="int.MaxValue"/>;
    /// a negative count counts as none.
    /// </summary>
    public static int RequestQueueLength(IEnumerable<(bool Lost, long Queued, long InFlight)> perNode, long gatewayHeld)
    {
        ArgumentNullException.ThrowIfNull(perNode);
        long total = Math.Max(0, gatewayHeld);
        foreach (var (lost, queued, inFlight) in perNode)
        {
            if (!lost)
            {
                total += Math.Max(0, queued) + Math.Max(0, inFlight);
                if (total >= int.MaxValue)
                {
                    return int.MaxValue;
                }
            }
        }

        return (int)Math.Min(int.MaxValue, total);
    }
}
