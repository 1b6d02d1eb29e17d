using Drover.Agent.Configuration;
using Drover.Agent.LocalSocket;

namespace Drover.Agent.Telemetry;

/// <summary>
/// The GPU work counters instances report on the local socket: per instance and GPU, the latest
/// cumulative (submitted, completed). A GPU's reported command-queue length is the sum over its
/// reporting instances of what they submitted and have not completed. Thread-safe: written by the
/// local socket's connections, read by the telemetry sampler.
/// </summary>
internal sealed class ReportedGpuWork : IGpuWorkSink
{
    /// <summary>
    /// The most GPUs one instance may hold counters for; reports for further GPUs are dropped, so an
    /// instance cycling through made-up UUIDs cannot grow the table without bound.
    /// </summary>
    public const int MaxGpusPerInstance = 64;

    /// <summary>
    /// The most work one instance's report counts for on one GPU: a report of more in flight (a broken or hostile
    /// counter) is held to it, so one instance cannot make a GPU look busier than a real process could.
    /// </summary>
    public const ulong MaxInFlightPerInstance = 1 << 20;

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _staleness;

    /// <param name="time">The clock reports are aged on.</param>
    /// <param name="options">The agent's settings: <see cref="AgentOptions.ReportedQueueStaleness"/>.</param>
    public ReportedGpuWork(TimeProvider time, AgentOptions options)
    {
        _time = time;
        _staleness = options.ReportedQueueStaleness;
    }

    /// <summary>On the system clock, with the default staleness.</summary>
    public ReportedGpuWork()
        : this(TimeProvider.System, new AgentOptions())
    {
    }

    // GPU UUID → instance id → counters. Keyed by GPU first: the sampler asks per GPU.
    private readonly Dictionary<string, Dictionary<string, Counters>> _byGpu = new(StringComparer.Ordinal);

    // Instance id → the GPUs it has counters for.
    private readonly Dictionary<string, HashSet<string>> _gpusByInstance = new(StringComparer.Ordinal);

    public void Report(string instanceId, string gpuUuid, ulong submitted, ulong completed)
    {
        lock (_lock)
        {
            if (!_gpusByInstance.TryGetValue(instanceId, out var gpus))
            {
                gpus = new HashSet<string>(StringComparer.Ordinal);
                _gpusByInstance[instanceId] = gpus;
            }

            if (!gpus.Contains(gpuUuid))
            {
                if (gpus.Count >= MaxGpusPerInstance)
                {
                    return;
                }

                gpus.Add(gpuUuid);
            }

            if (!_byGpu.TryGetValue(gpuUuid, out var instances))
            {
                instances = new Dictionary<string, Counters>(StringComparer.Ordinal);
                _byGpu[gpuUuid] = instances;
            }

            instances[instanceId] = new Counters(submitted, completed, _time.GetTimestamp());
        }
    }

    public void Forget(string instanceId)
    {
        lock (_lock)
        {
            if (!_gpusByInstance.Remove(instanceId, out var gpus))
            {
                return;
            }

            foreach (var gpu in gpus)
            {
                if (_byGpu.TryGetValue(gpu, out var instances) && instances.Remove(instanceId) && instances.Count == 0)
                {
                    _byGpu.Remove(gpu);
                }
            }
        }
    }

    /// <summary>
    /// The GPU's reported command-queue length: the sum over instances whose last report is younger than the
    /// staleness of (submitted − completed), each at most <see cref="MaxInFlightPerInstance"/>, where a report with
    /// more completed than submitted counts 0; <paramref name="age"/> is the age of the newest report. False when no
    /// instance reported for the GPU within the staleness (then the length is estimated from NVML instead).
    /// </summary>
    public bool TryGetQueueLength(string gpuUuid, out double length, out TimeSpan age)
    {
        length = 0;
        age = TimeSpan.Zero;
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            if (!_byGpu.TryGetValue(gpuUuid, out var instances))
            {
                return false;
            }

            var fresh = false;
            foreach (var counters in instances.Values)
            {
                var since = _time.GetElapsedTime(counters.ReportedAt, now);
                if (since > _staleness)
                {
                    continue;
                }

                age = fresh && age < since ? age : since;
                fresh = true;
                if (counters.Submitted > counters.Completed)
                {
                    length += Math.Min(counters.Submitted - counters.Completed, MaxInFlightPerInstance);
                }
            }

            return fresh;
        }
    }

    /// <summary>The GPU's reported command-queue length, without its age (see the overload).</summary>
    public bool TryGetQueueLength(string gpuUuid, out double length) => TryGetQueueLength(gpuUuid, out length, out _);

    private readonly record struct Counters(ulong Submitted, ulong Completed, long ReportedAt);
}
