namespace Drover.Agent.Link;

/// <summary>What the agent makes of the leadership an aggregator's Welcome names (<see cref="LeaderTermMemory.Judge"/>).</summary>
internal enum LeaderVerdict
{
    /// <summary>
    /// The leadership is current: the same store at the kept term or a higher one, the first one the agent
    /// hears of, or none named (an aggregator older than terms, which is accepted as before).
    /// </summary>
    Accept,

    /// <summary>The same store at a lower term than the kept one: a deposed leader, whose stream is refused.</summary>
    Refuse,

    /// <summary>
    /// Another store (a new database or data directory): its terms count from 1 again and do not compare
    /// with the kept ones, so the offered leadership replaces the kept one.
    /// </summary>
    AdoptNewStore,
}
