namespace Drover.Aggregator.Fleet;

/// <summary>A node's survival state as the aggregator shows it: what the node reports, or <see cref="Lost"/>.</summary>
internal enum NodeSurvival
{
    Alive,
    Draining,
    Stopping,
    Lost,
}
