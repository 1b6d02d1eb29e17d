namespace Drover.Nvml;

/// <summary>
/// The NVML library of this host: initialization, the GPUs and their events.
/// </summary>
/// <remarks>
/// Thread-safe: sampling devices and waiting on an event set may run on different threads. Every NVML failure is
/// returned as an <see cref="NvmlResult{T}"/>; nothing here throws for a driver problem. Disposing shuts NVML down
/// (once per successful <see cref="Initialize"/>) and disposes the event sets created here.
/// </remarks>
public interface INvml : IDisposable
{
    /// <summary>
    /// Loads the library, calls <c>nvmlInit_v2</c> and returns the driver version. Idempotent once it succeeded;
    /// after a failure the next call tries again.
    /// </summary>
    NvmlResult<string> Initialize();

    /// <summary>
    /// The GPUs, enumerated by index on the first call (initializing first when needed); later calls return the
    /// cached list of the last enumeration (this one or <see cref="Rescan"/>). Devices are identified by UUID; a GPU
    /// whose handle or UUID cannot be read (for example a lost GPU) is left out, and a repeated UUID is listed once.
    /// A GPU with MIG enabled is followed by its MIG instances (<see cref="IGpuDevice.Mig"/> set), as they were at
    /// the enumeration: after a MIG reconfiguration their calls fail until the GPUs are enumerated again.
    /// </summary>
    NvmlResult<IReadOnlyList<IGpuDevice>> GetDevices();

    /// <summary>
    /// Enumerates the GPUs again (after a GPU was lost, or came back). A UUID seen before keeps its
    /// <see cref="IGpuDevice"/> object, with its handle and index refreshed.
    /// </summary>
    NvmlResult<IReadOnlyList<IGpuDevice>> Rescan();

    /// <summary>
    /// Shuts NVML down so that the next <see cref="Initialize"/> starts afresh: how a client recovers from a driver
    /// reload, and how it lets go of the GPUs so a reset can run. The event sets created here are freed (each once a
    /// wait in progress on it returned, waiting at most <paramref name="waitBound"/> for those), and until NVML is
    /// initialised again every call on a device answers <c>NVML_ERROR_UNINITIALIZED</c> without reaching the
    /// library. Devices keep their objects: an enumeration after the next initialisation refreshes their handles.
    /// </summary>
    void Shutdown(TimeSpan waitBound);

    /// <summary>
    /// Creates an event set on <paramref name="devices"/> for <paramref name="types"/>. Each device is registered
    /// for the subset of <paramref name="types"/> it supports; a device that supports none of them, or that
    /// reports not supported, no permission or lost, is left out.
    /// </summary>
    NvmlResult<IGpuEventSet> CreateEventSet(IEnumerable<IGpuDevice> devices, GpuEventTypes types);
}
