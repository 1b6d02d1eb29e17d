using Drover.Agent.Link;
using Drover.Protocol.V1;

namespace Drover.Agent.Heartbeats;

/// <summary>
/// The heartbeat loop: every heartbeat interval it proves the agent is alive to systemd (watchdog, fed
/// only while the GPU sampling loop makes progress too) and, while the link is up, to the aggregator. It keeps ticking while the link is down, so a lost
/// aggregator never makes systemd restart a healthy agent.
/// </summary>
internal sealed partial class HeartbeatService : BackgroundService
{
    private readonly NodeState _state;
    private readonly AgentOutbox _outbox;
    private readonly SystemdWatchdog _watchdog;
    private readonly WatchedLoops _loops;
    private readonly TimeProvider _time;
    private readonly ILogger<HeartbeatService> _logger;

    public HeartbeatService(NodeState state, AgentOutbox outbox, SystemdWatchdog watchdog, WatchedLoops loops, TimeProvider time, ILogger<HeartbeatService> logger)
    {
        _state = state;
        _outbox = outbox;
        _watchdog = watchdog;
        _loops = loops;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_watchdog.Timeout is { } timeout && timeout < _state.HeartbeatInterval * 2)
        {
            Log.WatchdogTooShort(_logger, (long)timeout.TotalMilliseconds, (long)_state.HeartbeatInterval.TotalMilliseconds);
        }

        using var timer = new PeriodicTimer(_state.HeartbeatInterval, _time);
        void OnIntervalChanged(TimeSpan interval) => timer.Period = interval;
        _state.IntervalChanged += OnIntervalChanged;
        try
        {
            _loops.Heartbeat.Completed();
            _watchdog.Pet();
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                _loops.Heartbeat.Completed();
                _watchdog.Pet();
                if (_outbox.IsConnected)
                {
                    _outbox.TrySend(new AgentMessage { Heartbeat = _state.NextHeartbeat() });
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _state.IntervalChanged -= OnIntervalChanged;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2201, EventName = "WatchdogTooShort", Level = LogLevel.Warning,
            Message = "The systemd watchdog timeout ({TimeoutMs} ms) is shorter than two heartbeat intervals ({IntervalMs} ms); systemd may restart a healthy agent. Raise WatchdogSec.")]
        public static partial void WatchdogTooShort(ILogger logger, long timeoutMs, long intervalMs);
    }
}
