namespace Drover.Aggregator.State;

/// <summary>
/// One function's scale-down window as <c>state.db</c> keeps it (<c>decision_memory</c>, key
/// <c>scaling/windows</c>): its own shape, so that renaming the decision's record does not change the file.
/// </summary>
/// <param name="BelowForMs">How long the desired count has been below the current one, in milliseconds; null when it is not.</param>
internal sealed record StoredScalingWindow(long? BelowForMs);
