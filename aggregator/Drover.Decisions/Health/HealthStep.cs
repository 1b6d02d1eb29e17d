namespace Drover.Decisions.Health;

/// <summary>One cluster's state after one evaluation of the failback hysteresis.</summary>
/// <param name="Health">The state now.</param>
/// <param name="HealthyFor">How long it has been at or above its threshold without a break.</param>
/// <param name="From">The previous state when the state changed; null when it did not, or on first sight.</param>
internal sealed record HealthStep(ClusterHealthState Health, TimeSpan HealthyFor, ClusterHealthState? From);
