namespace Drover.Aggregator.Placement;

/// <summary>One placement decision as it was carried out: when, what, where, and why.</summary>
/// <remarks><c>Inputs</c>: what a scaling decision read (queue length, SLO, margin, the formula, the ranked candidates); null for other kinds.</remarks>
internal sealed record DecisionRecord(
    DateTimeOffset At,
    string Kind,
    string Function,
    string? InstanceId,
    string? FromNodeId,
    string? ToNodeId,
    ulong? RestoredStateVersion,
    string Reason,
    string Outcome,
    object? Inputs = null);
