namespace Drover.Decisions.Health;

/// <summary>
/// Which clusters back up which, from a health decision, in the order placement tries them: each
/// cluster that cannot serve now (not healthy), with the clusters taking its traffic, the largest
/// share first (ties by name); with no named taker, every other cluster that has a share.
/// </summary>
public static class BackupOrder
{
    /// <summary>The backups of every unhealthy cluster; null without a decision (before the first evaluation).</summary>
    public static Dictionary<string, IReadOnlyList<string>>? Of(HealthDecision? decision)
    {
        if (decision is null)
        {
            return null;
        }

        var shares = decision.Shares.ToDictionary(s => s.Cluster, s => s.Share, StringComparer.Ordinal);
        var byShare = decision.Shares.OrderByDescending(s => s.Share).ThenBy(s => s.Cluster, StringComparer.Ordinal).Select(s => s.Cluster).ToArray();
        return decision.Clusters
            .Where(c => c.Health != ClusterHealthState.Healthy)
            .ToDictionary(
                c => c.Name,
                c => (IReadOnlyList<string>)(c.ServedBy.Count > 0
                    ? c.ServedBy.OrderByDescending(b => shares.GetValueOrDefault(b)).ThenBy(b => b, StringComparer.Ordinal).ToArray()
                    : byShare.Where(b => b != c.Name).ToArray()),
                StringComparer.Ordinal);
    }
}
