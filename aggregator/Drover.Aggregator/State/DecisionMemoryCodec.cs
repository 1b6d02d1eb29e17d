using Drover.Aggregator.Configuration;
using Drover.Decisions.Health;
using Drover.Decisions.Scaling;

namespace Drover.Aggregator.State;

/// <summary>
/// The shapes the decision memory is kept in, shared by every <see cref="IDecisionMemoryStore"/>: the keys of
/// <c>decision_memory</c> and the conversions between the decisions' records and their stored JSON records, so
/// that SQLite and PostgreSQL keep the same values and a store can be moved from one to the other.
/// </summary>
internal static class DecisionMemoryCodec
{
    public const string PenaltiesKey = "placement/node-penalties";
    public const string ScalingWindowsKey = "scaling/windows";
    public const string ClusterHealthKey = "health/previous";
    public const string LoadBalancingKey = "balancing/coordination";

    public static Dictionary<string, DateTimeOffset> PenaltiesToStored(IReadOnlyDictionary<string, DateTimeOffset> endsAt)
        => endsAt.ToDictionary(p => p.Key, p => p.Value.ToUniversalTime(), StringComparer.Ordinal);

    public static Dictionary<string, DateTimeOffset> PenaltiesFromStored(Dictionary<string, DateTimeOffset>? stored)
        => new(stored ?? [], StringComparer.Ordinal);

    public static Dictionary<string, StoredScalingWindow> WindowsToStored(IReadOnlyDictionary<string, ScalingPrevious> windows)
        => windows.ToDictionary(
            w => w.Key,
            w => new StoredScalingWindow(w.Value.BelowFor is { } below ? Milliseconds(below) : null),
            StringComparer.Ordinal);

    public static Dictionary<string, ScalingPrevious> WindowsFromStored(Dictionary<string, StoredScalingWindow>? stored)
        => (stored ?? []).ToDictionary(
            w => w.Key,
            w => new ScalingPrevious(w.Value.BelowForMs is { } ms ? TimeSpan.FromMilliseconds(Math.Max(0, ms)) : null),
            StringComparer.Ordinal);

    public static Dictionary<string, StoredClusterHealth> HealthToStored(IReadOnlyDictionary<string, PreviousClusterHealth> previous)
        => previous.ToDictionary(
            p => p.Key,
            p => new StoredClusterHealth(ClusterDefaults.HealthName(p.Value.Health), Milliseconds(p.Value.HealthyFor)),
            StringComparer.Ordinal);

    /// <summary>The kept states; <paramref name="unreadable"/> is told of each cluster left out (its cluster and why).</summary>
    public static Dictionary<string, PreviousClusterHealth> HealthFromStored(Dictionary<string, StoredClusterHealth>? stored, Action<string, string> unreadable)
    {
        var previous = new Dictionary<string, PreviousClusterHealth>(StringComparer.Ordinal);
        foreach (var (cluster, state) in stored ?? [])
        {
            if (ParseHealth(state.Health) is { } health)
            {
                previous[cluster] = new PreviousClusterHealth(health, TimeSpan.FromMilliseconds(Math.Max(0, state.HealthyForMs)));
            }
            else
            {
                unreadable($"{ClusterHealthKey} of cluster '{cluster}'", $"health '{state.Health}' is not healthy, recovering or unhealthy");
            }
        }

        return previous;
    }

    /// <summary>A reserved sequence number as a signed 64-bit column holds it (the numbers past it are never reached).</summary>
    public static long SequenceToStored(ulong through) => (long)Math.Min(through, long.MaxValue);

    public static ulong SequenceFromStored(long stored) => (ulong)Math.Max(0, stored);

    private static long Milliseconds(TimeSpan value) => value < TimeSpan.Zero ? 0 : (long)value.TotalMilliseconds;

    private static ClusterHealthState? ParseHealth(string? name) => name switch
    {
        "healthy" => ClusterHealthState.Healthy,
        "recovering" => ClusterHealthState.Recovering,
        "unhealthy" => ClusterHealthState.Unhealthy,
        _ => null,
    };
}
