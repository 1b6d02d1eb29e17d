using Drover.Agent.Instances;
using Drover.Protocol.V1;

namespace Drover.Agent.Shims;

/// <summary>
/// One function or service on this node as the shim serves it: its instances, its gate (slots and
/// queue), its settings (from its instances' ShimSpec) and its counters since the agent started.
/// </summary>
internal sealed class ShimWorkload
{
    /// <summary>The timeout of a workload whose ShimSpec names none.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly Lock _lock = new();
    private IReadOnlyDictionary<string, InstanceSupervisor> _instances = new Dictionary<string, InstanceSupervisor>(StringComparer.Ordinal);
    private ShimSpec _shim = new();
    private long _completed;
    private long _failed;
    private long _rejected;
    private long _timedOut;
    private double _recentMs;

    public ShimWorkload(WorkloadKey key) => Key = key;

    public WorkloadKey Key { get; }

    public WorkloadGate Gate { get; } = new();

    public LatencyBuckets Latency { get; } = new();

    /// <summary>The settings in force: the ShimSpec of its last instance by id (the aggregator gives all the same).</summary>
    public ShimSpec Shim => _shim;

    public TimeSpan Timeout => _shim.Timeout is { } timeout && timeout.ToTimeSpan() > TimeSpan.Zero ? timeout.ToTimeSpan() : DefaultTimeout;

    public IReadOnlyDictionary<string, InstanceSupervisor> Instances => _instances;

    public long Completed => Interlocked.Read(ref _completed);

    public long Failed => Interlocked.Read(ref _failed);

    public long Rejected => Interlocked.Read(ref _rejected);

    public long TimedOut => Interlocked.Read(ref _timedOut);

    /// <summary>The supervisor behind a traffic record the gate handed out.</summary>
    public InstanceSupervisor? Supervisor(InstanceTraffic traffic) => _instances.GetValueOrDefault(traffic.InstanceId);

    /// <summary>Takes the instances of this workload as they are now; the gate pumps when one's readiness changes.</summary>
    public void Update(IReadOnlyList<InstanceSupervisor> instances)
    {
        lock (_lock)
        {
            foreach (var gone in _instances.Values.Where(old => !instances.Contains(old)))
            {
                gone.Traffic.ReadinessChanged -= Gate.Pump;
            }

            foreach (var added in instances.Where(i => !_instances.Values.Contains(i)))
            {
                added.Traffic.ReadinessChanged += Gate.Pump;
            }

            _instances = instances.ToDictionary(i => i.InstanceId, StringComparer.Ordinal);
            if (instances.Count > 0)
            {
                _shim = instances[^1].Spec.Shim ?? new ShimSpec();
            }
        }

        Gate.Concurrency = (int)Math.Max(1, _shim.Concurrency);
        Gate.QueueLength = (int)_shim.QueueLength;
        Gate.SetInstances(instances.Select(i => i.Traffic).ToList());
    }

    public void RecordCompleted(double ms)
    {
        Interlocked.Increment(ref _completed);
        Latency.Record(ms);

        // A moving average of recent latency, for Retry-After; a race loses one sample at worst.
        var recent = Volatile.Read(ref _recentMs);
        Volatile.Write(ref _recentMs, recent == 0 ? ms : (recent * 0.9) + (ms * 0.1));
    }

    public void RecordFailed(GateOutcome? outcome = null)
    {
        Interlocked.Increment(ref _failed);
        if (outcome == GateOutcome.QueueFull)
        {
            Interlocked.Increment(ref _rejected);
        }
        else if (outcome == GateOutcome.TimedOut)
        {
            Interlocked.Increment(ref _timedOut);
        }
    }

    /// <summary>
    /// Whole seconds (1-60) until a slot is likely free: the queue ahead, served at the recent latency
    /// by every slot of the ready instances.
    /// </summary>
    public int RetryAfterSeconds()
    {
        var slots = Math.Max(1, Gate.ReadyInstances * Gate.Concurrency);
        var seconds = Volatile.Read(ref _recentMs) * (Gate.Queued + 1) / slots / 1000;
        return (int)Math.Clamp(Math.Ceiling(seconds), 1, 60);
    }

    public WorkloadStats Stats() => new()
    {
        Kind = Key.Kind,
        Name = Key.Name,
        Queued = (uint)Gate.Queued,
        InFlight = (uint)Math.Max(0, Gate.InFlight),
        Completed = (ulong)Completed,
        Failed = (ulong)Failed,
        Rejected = (ulong)Rejected,
        TimedOut = (ulong)TimedOut,
        Latency = Latency.Snapshot(),
        ReadyInstances = (uint)Gate.ReadyInstances,
        Concurrency = (uint)Gate.Concurrency,
        QueueLength = (uint)Gate.QueueLength,
    };
}
