namespace Drover.Aggregator.Placement;

/// <summary>
/// Nodes where a start failed or was never confirmed: they take no new autoscaled instances for
/// <see cref="Duration"/>, so the next pass places the instance elsewhere.
/// </summary>
internal sealed class NodePenalties
{
    /// <summary>How long a node sits out after a failed start.</summary>
    public static readonly TimeSpan Duration = TimeSpan.FromSeconds(60);

    private readonly TimeProvider _time;
    private readonly Dictionary<string, long> _since = new(StringComparer.Ordinal);

    public NodePenalties(TimeProvider time) => _time = time;

    /// <summary>Penalises <paramref name="nodeId"/> from now on.</summary>
    public void Penalise(string nodeId) => _since[nodeId] = _time.GetTimestamp();

    /// <summary>The nodes penalised now; expired penalties are dropped.</summary>
    public IReadOnlySet<string> Current()
    {
        var now = _time.GetTimestamp();
        foreach (var expired in _since.Where(p => _time.GetElapsedTime(p.Value, now) >= Duration).Select(p => p.Key).ToArray())
        {
            _since.Remove(expired);
        }

        return _since.Keys.ToHashSet(StringComparer.Ordinal);
    }
}
