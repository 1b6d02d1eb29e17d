using System.Collections.Concurrent;

namespace Drover.Gateway;

/// <summary>
/// Nodes that failed a request before answering, kept out of new choices for a short while
/// (<see cref="GatewayOptions.EjectionMs"/>), like Envoy's outlier ejection: between a node's death
/// and the health decision that drops it from the table, every request sent there would fail once.
/// </summary>
internal sealed class GatewayEjections(TimeProvider time, Microsoft.Extensions.Options.IOptions<GatewayOptions> options)
{
    private readonly ConcurrentDictionary<string, long> _failedAt = new(StringComparer.Ordinal);
    private readonly TimeSpan _window = TimeSpan.FromMilliseconds(options.Value.EjectionMs);

    /// <summary>Notes that <paramref name="nodeId"/> failed a request before answering.</summary>
    public void Failed(string nodeId)
    {
        if (_window > TimeSpan.Zero)
        {
            _failedAt[nodeId] = time.GetTimestamp();
        }
    }

    /// <summary>
    /// <paramref name="failed"/> plus the nodes ejected now; <paramref name="failed"/> itself (no
    /// allocation) when none is. Ejections past their window are forgotten here.
    /// </summary>
    public IReadOnlySet<string>? With(IReadOnlySet<string>? failed)
    {
        if (_failedAt.IsEmpty)
        {
            return failed;
        }

        HashSet<string>? exclude = null;
        var now = time.GetTimestamp();
        foreach (var (node, at) in _failedAt)
        {
            if (time.GetElapsedTime(at, now) >= _window)
            {
                _failedAt.TryRemove(new KeyValuePair<string, long>(node, at));
                continue;
            }

            exclude ??= failed is null ? new HashSet<string>(StringComparer.Ordinal) : new HashSet<string>(failed, StringComparer.Ordinal);
            exclude.Add(node);
        }

        return exclude ?? failed;
    }
}
