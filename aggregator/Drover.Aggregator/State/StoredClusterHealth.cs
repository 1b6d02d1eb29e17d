namespace Drover.Aggregator.State;

/// <summary>
/// One cluster's last health state as <c>state.db</c> keeps it (<c>decision_memory</c>, key
/// <c>health/previous</c>): its own shape, so that renaming the decision's record does not change the file.
/// </summary>
/// <param name="Health"><c>healthy</c>, <c>recovering</c> or <c>unhealthy</c>, as the API names them.</param>
/// <param name="HealthyForMs">How long it had been at or above its threshold without a break, in milliseconds.</param>
internal sealed record StoredClusterHealth(string Health, long HealthyForMs);
