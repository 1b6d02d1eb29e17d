using Drover.Protocol.V1;
using Google.Protobuf.WellKnownTypes;

namespace Drover.Agent.Heartbeats;

/// <summary>
/// What the node says of itself in its heartbeats: its survival state, the heartbeat sequence and
/// the interval the aggregator asked for. Shared by the heartbeat loop and the link.
/// </summary>
internal sealed class NodeState
{
    private readonly TimeProvider _time;
    private readonly uint _serverNumber;
    private readonly uint _port;
    private long _sequence;
    private int _survival = (int)SurvivalState.Alive;
    private long _intervalTicks;

    public NodeState(TimeProvider time, int serverNumber, int port, TimeSpan initialInterval)
    {
        _time = time;
        _serverNumber = (uint)serverNumber;
        _port = (uint)port;
        _intervalTicks = initialInterval.Ticks;
    }

    public SurvivalState Survival => (SurvivalState)Volatile.Read(ref _survival);

    public TimeSpan HeartbeatInterval => TimeSpan.FromTicks(Interlocked.Read(ref _intervalTicks));

    /// <summary>Raised when the aggregator names a new heartbeat interval.</summary>
    public event Action<TimeSpan>? IntervalChanged;

    public void SetInterval(TimeSpan interval)
    {
        if (Interlocked.Exchange(ref _intervalTicks, interval.Ticks) != interval.Ticks)
        {
            IntervalChanged?.Invoke(interval);
        }
    }

    /// <summary>Alive ⇄ draining. Once stopping, the node stays stopping.</summary>
    public bool SetDraining(bool draining)
    {
        var target = (int)(draining ? SurvivalState.Draining : SurvivalState.Alive);
        while (true)
        {
            var current = Volatile.Read(ref _survival);
            if (current == (int)SurvivalState.Stopping)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _survival, target, current) == current)
            {
                return true;
            }
        }
    }

    public void SetStopping() => Volatile.Write(ref _survival, (int)SurvivalState.Stopping);

    /// <summary>The answer to the aggregator's survival probe <paramref name="sequence"/>: who the node is and its state now.</summary>
    public ProbeReply ProbeReply(ulong sequence) => new()
    {
        Sequence = sequence,
        ServerNumber = _serverNumber,
        Port = _port,
        Survival = Survival,
    };

    /// <summary>The next heartbeat: sequence numbers increase by one for the life of the process.</summary>
    public Heartbeat NextHeartbeat() => new()
    {
        Sequence = (ulong)Interlocked.Increment(ref _sequence),
        Survival = Survival,
        AgentTime = Timestamp.FromDateTimeOffset(_time.GetUtcNow()),
        ServerNumber = _serverNumber,
        Port = _port,
    };
}
