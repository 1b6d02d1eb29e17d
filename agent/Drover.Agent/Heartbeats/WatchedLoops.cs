namespace Drover.Agent.Heartbeats;

/// <summary>
/// The loops whose hang should make systemd restart the agent: the heartbeat loop, and the GPU sampling
/// loop, which a hung NVML call stalls for every GPU at once while everything else looks alive.
/// </summary>
internal sealed class WatchedLoops
{
    public WatchedLoops(TimeProvider time, Func<TimeSpan> heartbeatInterval, TimeSpan samplingInterval)
    {
        Heartbeat = new LoopProgress("heartbeat", heartbeatInterval, time);
        Sampling = new LoopProgress("GPU sampling", () => samplingInterval, time);
        All = [Heartbeat, Sampling];
    }

    public LoopProgress Heartbeat { get; }

    public LoopProgress Sampling { get; }

    public IReadOnlyList<LoopProgress> All { get; }
}
