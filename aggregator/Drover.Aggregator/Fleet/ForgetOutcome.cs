namespace Drover.Aggregator.Fleet;

/// <summary>What <see cref="NodeTable.Forget"/> did.</summary>
internal enum ForgetOutcome
{
    Forgotten,
    Unknown,
    NotLost,
}
