namespace Drover.Agent.Telemetry;

/// <summary>
/// The command-queue length of one GPU: GPU work submitted and not yet completed. NVML has no such
/// counter, so when nothing reports it the agent estimates it from what NVML does tell.
/// </summary>
internal static class CommandQueue
{
    /// <summary>
    /// The estimate: running compute processes weighted by GPU utilization. Two processes on a GPU
    /// busy 50% of the last sample period count as one unit of queued work; an idle GPU counts zero
    /// however many processes hold contexts on it; a saturated GPU counts every process. A busy GPU
    /// whose processes NVML cannot list (they run in another PID namespace) counts as one process.
    /// </summary>
    public static double Estimate(int computeProcesses, uint utilizationGpuPercent)
    {
        var utilization = Math.Min(utilizationGpuPercent, 100u);
        var processes = computeProcesses == 0 && utilization > 0 ? 1 : computeProcesses;
        return processes * utilization / 100.0;
    }
}
