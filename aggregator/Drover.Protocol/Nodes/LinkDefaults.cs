namespace Drover.Protocol.Nodes;

/// <summary>
/// The link's default timings, one set of numbers for both programs: an agent heartbeats at the
/// interval its aggregator expects before any Welcome has told it so.
/// </summary>
public static class LinkDefaults
{
    /// <summary>How often an agent heartbeats, in milliseconds, until the aggregator's Welcome names its own interval.</summary>
    public const int HeartbeatIntervalMs = 1000;

    /// <summary>How many whole heartbeat intervals a node may miss before the aggregator declares it lost.</summary>
    public const int MissedHeartbeats = 3;
}
