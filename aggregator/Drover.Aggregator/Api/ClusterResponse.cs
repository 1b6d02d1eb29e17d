using Drover.Aggregator.Configuration;
using Drover.Decisions.Health;

namespace Drover.Aggregator.Api;

/// <summary>One cluster as <c>GET /v1/clusters</c> shows it (camelCase JSON).</summary>
internal sealed record ClusterResponse(
    string Name,
    int Weight,
    int Priority,
    string Role,
    string Group,
    string Mode,
    int Total,
    int Survivors,
    int MinSurvivors,
    int? MinSurvivorsFixed,
    double MinimumSurvivalRatio,
    string Health,
    long HealthyForMs,
    IReadOnlyList<string> ServingFor,
    IReadOnlyList<string> ServedBy,
    double TrafficShare)
{
    public static ClusterResponse From(ClusterStatus status, HealthCluster settings, HealthDecision decision) => new(
        status.Name,
        status.Weight,
        status.Priority,
        ClusterDefaults.RoleName(status.Role),
        status.Group,
        ClusterDefaults.ModeName(status.Mode),
        status.Total,
        status.Survivors,
        status.MinSurvivors,
        settings.MinSurvivors,
        settings.MinimumSurvivalRatio,
        ClusterDefaults.HealthName(status.Health),
        (long)status.HealthyFor.TotalMilliseconds,
        status.ServingFor,
        status.ServedBy,
        Math.Round(decision.Shares.FirstOrDefault(s => s.Cluster == status.Name)?.Share ?? 0, 4));
}
