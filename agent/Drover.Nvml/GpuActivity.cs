namespace Drover.Nvml;

/// <summary>
/// Activity measured by GPM between two samples (NVML's GPU Performance Monitoring, Hopper and later), in percent; a
/// metric the driver did not answer is null.
/// </summary>
/// <param name="GraphicsPercent">Percent of the time any compute or graphics work was active (as utilization, but measured).</param>
/// <param name="SmPercent">Percent of the SMs that were busy: how much of the GPU the work fills.</param>
/// <param name="SmOccupancyPercent">Percent of the warps active against the theoretical maximum.</param>
public readonly record struct GpuActivity(double? GraphicsPercent, double? SmPercent, double? SmOccupancyPercent);
