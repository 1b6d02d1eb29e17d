namespace Drover.Aggregator.Fleet;

/// <summary>What one <see cref="NodeTable.CheckOverdueProbes"/> found.</summary>
/// <param name="NewlyOverdue">The nodes whose oldest unanswered probe reached the timeout since the last check, with its age.</param>
/// <param name="NextDue">How long until the next outstanding probe reaches the timeout; null when none is waiting to.</param>
internal sealed record OverdueProbes(IReadOnlyList<(string NodeId, TimeSpan Age)> NewlyOverdue, TimeSpan? NextDue);
