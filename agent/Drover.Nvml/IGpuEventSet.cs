namespace Drover.Nvml;

/// <summary>
/// An NVML event set: XID and other critical events from the devices it was created on.
/// </summary>
/// <remarks>
/// One thread waits; <see cref="IDisposable.Dispose"/> may be called from another thread while it waits, and the
/// native set is freed when that wait returns.
/// </remarks>
public interface IGpuEventSet : IDisposable
{
    /// <summary>
    /// Waits up to <paramref name="timeout"/> for the next event. Returns Ok(null) when none came;
    /// <see cref="NvmlReturn.GpuIsLost"/> when a registered GPU was lost (enumerate again and create a new set).
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits as long as NVML allows.
    /// </summary>
    NvmlResult<GpuEvent?> Wait(TimeSpan timeout);
}
