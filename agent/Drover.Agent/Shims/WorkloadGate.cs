using Drover.Agent.Instances;

namespace Drover.Agent.Shims;

/// <summary>
/// One workload's admission on this node: each ready instance serves at most <see cref="Concurrency"/>
/// requests at once, and up to <see cref="QueueLength"/> more wait in one FIFO queue for the first free
/// slot. A small hand-written gate rather than <c>System.Threading.RateLimiting.ConcurrencyLimiter</c>:
/// that limiter has one fixed permit count and does not say which instance a permit is for, while
/// here the limit is the SLO times the ready instances (which come, go and drain) and each request
/// must land on an instance with a free slot, or on one given instance (a service route).
/// Timeouts come from the caller's token, so a <see cref="TimeProvider"/> drives them.
/// </summary>
internal sealed class WorkloadGate
{
    private readonly Lock _lock = new();
    private readonly LinkedList<Waiter> _queue = new();
    private IReadOnlyList<InstanceTraffic> _instances = [];
    private int _concurrency = 1;
    private int _queueLength;
    private int _inFlight;

    /// <summary>The most requests one instance serves at once (the SLO; at least 1).</summary>
    public int Concurrency
    {
        get => _concurrency;
        set
        {
            lock (_lock)
            {
                _concurrency = Math.Max(1, value);
            }

            Pump();
        }
    }

    /// <summary>How many requests may wait for a slot (0: none waits).</summary>
    public int QueueLength
    {
        get => _queueLength;
        set
        {
            lock (_lock)
            {
                _queueLength = Math.Max(0, value);
            }
        }
    }

    public int Queued
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    public int InFlight => Volatile.Read(ref _inFlight);

    public int ReadyInstances => _instances.Count(i => i.Ready);

    /// <summary>The instances requests may go to (ready or not: readiness is read at each hand-over).</summary>
    public void SetInstances(IReadOnlyList<InstanceTraffic> instances)
    {
        lock (_lock)
        {
            _instances = instances;
        }

        Pump();
    }

    /// <summary>
    /// Waits for a slot on any ready instance, or on <paramref name="target"/> only when given. Answers
    /// at once when no instance is ready or the queue is full; <paramref name="cancellationToken"/>
    /// ends the wait (TimedOut). An entered request must be ended with <see cref="Exit"/>.
    /// </summary>
    public async Task<GateEntry> EnterAsync(InstanceTraffic? target, CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (_lock)
        {
            if (Pick(target) is { } free)
            {
                Take(free);
                return GateEntry.Entered(free);
            }

            if (!AnyReady(target))
            {
                return GateEntry.NoInstance;
            }

            if (_queue.Count >= _queueLength)
            {
                return GateEntry.QueueFull;
            }

            waiter = new Waiter(target);
            waiter.Node = _queue.AddLast(waiter);
        }

        await using var registration = cancellationToken.Register(() => Leave(waiter, GateEntry.TimedOut));
        return await waiter.Result.Task;
    }

    /// <summary>Frees the slot a request held and hands it to the next waiter.</summary>
    public void Exit(InstanceTraffic instance)
    {
        lock (_lock)
        {
            instance.Exit();
            _inFlight--;
        }

        Pump();
    }

    /// <summary>Hands free slots to waiters in arrival order; fails waiters no ready instance can serve any more.</summary>
    public void Pump()
    {
        lock (_lock)
        {
            var node = _queue.First;
            while (node is not null)
            {
                var next = node.Next;
                var waiter = node.Value;
                if (Pick(waiter.Target) is { } free)
                {
                    _queue.Remove(node);
                    Take(free);
                    waiter.Result.TrySetResult(GateEntry.Entered(free));
                }
                else if (!AnyReady(waiter.Target))
                {
                    _queue.Remove(node);
                    waiter.Result.TrySetResult(GateEntry.NoInstance);
                }
                else if (waiter.Target is null)
                {
                    // No slot free on any instance: later waiters for any instance cannot enter either.
                    break;
                }

                node = next;
            }
        }
    }

    private void Leave(Waiter waiter, GateEntry result)
    {
        lock (_lock)
        {
            if (waiter.Node?.List is not null)
            {
                _queue.Remove(waiter.Node);
            }

            waiter.Result.TrySetResult(result);
        }
    }

    private void Take(InstanceTraffic instance)
    {
        instance.Enter();
        _inFlight++;
    }

    /// <summary>The ready instance with a free slot and the fewest requests (ties: the first listed).</summary>
    private InstanceTraffic? Pick(InstanceTraffic? target)
    {
        InstanceTraffic? best = null;
        foreach (var instance in _instances)
        {
            if (Serves(instance, target) && instance.InFlight < _concurrency
                && (best is null || instance.InFlight < best.InFlight))
            {
                best = instance;
            }
        }

        return best;
    }

    /// <summary>Any ready instance serves an unnamed request; a named one serves a request routed to it even while it drains.</summary>
    private static bool Serves(InstanceTraffic instance, InstanceTraffic? target)
        => target is null ? instance.Ready : ReferenceEquals(instance, target) && instance.ServesRouted;

    private bool AnyReady(InstanceTraffic? target)
    {
        foreach (var instance in _instances)
        {
            if (Serves(instance, target))
            {
                return true;
            }
        }

        return false;
    }

    private sealed class Waiter(InstanceTraffic? target)
    {
        public InstanceTraffic? Target { get; } = target;

        public LinkedListNode<Waiter>? Node { get; set; }

        public TaskCompletionSource<GateEntry> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
