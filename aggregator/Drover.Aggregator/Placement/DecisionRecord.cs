namespace Drover.Aggregator.Placement;

/// <summary>One placement decision as it was carried out: when, what, where, and why.</summary>
internal sealed record DecisionRecord(
    DateTimeOffset At,
    string Kind,
    string Function,
    string? InstanceId,
    string? FromNodeId,
    string? ToNodeId,
    ulong? RestoredStateVersion,
    string Reason,
    string Outcome);
