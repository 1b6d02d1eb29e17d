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

    private readonly Lock _lock = new();

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

            instances[instanceId] = new Counters(submitted, completed);
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
    /// The GPU's reported command-queue length: the sum over instances of (submitted − completed),
    /// where a report with more completed than submitted counts 0. False when no instance reports
    /// for the GPU (then the length is estimated from NVML instead).
    /// </summary>
    public bool TryGetQueueLength(string gpuUuid, out double length)
    {
        length = 0;
        lock (_lock)
        {
            if (!_byGpu.TryGetValue(gpuUuid, out var instances))
            {
                return false;
            }

            foreach (var counters in instances.Values)
            {
                if (counters.Submitted > counters.Completed)
                {
                    length += counters.Submitted - counters.Completed;
                }
            }

            return true;
        }
    }

    private readonly record struct Counters(ulong Submitted, ulong Completed);
}
