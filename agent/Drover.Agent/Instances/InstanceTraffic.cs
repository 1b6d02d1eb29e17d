namespace Drover.Agent.Instances;

/// <summary>
/// What the node's shim knows of one instance's traffic: whether its health check passed, whether it
/// is draining, and how many requests it serves now. Kept beside the supervisor (not in the shim) so
/// the instance manager can drain an instance without depending on the shim.
/// </summary>
internal sealed class InstanceTraffic
{
    private readonly Lock _gate = new();
    private TaskCompletionSource? _idle;
    private int _inFlight;
    private bool _healthy;
    private bool _draining;
    private bool _running;

    public InstanceTraffic(string instanceId) => InstanceId = instanceId;

    public string InstanceId { get; }

    /// <summary>Raised when <see cref="Ready"/> may have changed.</summary>
    public event Action? ReadinessChanged;

    /// <summary>The shim sends it new requests: its process runs, its health check passed, and it does not drain.</summary>
    public bool Ready => _running && _healthy && !_draining;

    public bool Draining => _draining;

    /// <summary>
    /// It still serves a request routed to it by name (another node's shim chose it before that node
    /// applied the table that routes elsewhere): its process runs and its health check passed, draining or not.
    /// </summary>
    public bool ServesRouted => _running && _healthy;

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Set by the supervisor: whether the instance is Running.</summary>
    public void SetRunning(bool running) => Update(ref _running, running);

    /// <summary>Set by the shim's health checks.</summary>
    public void SetHealthy(bool healthy) => Update(ref _healthy, healthy);

    /// <summary>Stops new requests for good (the instance is about to stop).</summary>
    public void BeginDrain() => Update(ref _draining, true);

    /// <summary>Counts a request handed to the instance; the shim's gate calls it under its own lock.</summary>
    public void Enter() => Interlocked.Increment(ref _inFlight);

    /// <summary>Counts a request the instance finished.</summary>
    public void Exit()
    {
        if (Interlocked.Decrement(ref _inFlight) == 0)
        {
            lock (_gate)
            {
                _idle?.TrySetResult();
                _idle = null;
            }
        }
    }

    /// <summary>Completes once no request is in flight, or when <paramref name="timeout"/> passes; true when idle.</summary>
    public async Task<bool> WaitIdleAsync(TimeSpan timeout, TimeProvider time)
    {
        Task idle;
        lock (_gate)
        {
            if (InFlight == 0)
            {
                return true;
            }

            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            idle = _idle.Task;
        }

        try
        {
            await idle.WaitAsync(timeout, time);
            return true;
        }
        catch (TimeoutException)
        {
            return InFlight == 0;
        }
    }

    private void Update(ref bool field, bool value)
    {
        bool changed;
        lock (_gate)
        {
            var before = Ready;
            field = value;
            changed = before != Ready;
        }

        if (changed)
        {
            ReadinessChanged?.Invoke();
        }
    }
}
