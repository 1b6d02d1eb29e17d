namespace Drover.Aggregator.Clusters;

/// <summary>One health transition of a cluster, as <c>GET /v1/clusters/{name}/history</c> shows it.</summary>
internal sealed record ClusterHistoryEntry(
    DateTimeOffset At,
    string From,
    string To,
    int Survivors,
    int MinSurvivors,
    int Total,
    IReadOnlyList<string> ServedBy,
    string Reason);
