using Drover.Aggregator.Configuration;
using Drover.Aggregator.Link;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Fleet;

/// <summary>
/// Sends a <see cref="SurvivalProbe"/> on every open agent stream once per monitoring period, noting
/// each in the <see cref="NodeTable"/> before it is queued; the replies are recorded by the link. A
/// stream that still looks open but carries nothing back (half-open) leaves its probes unanswered,
/// and the node stops surviving once the oldest is <c>probeTimeoutMs</c> old.
/// <para>
/// The table has no clock, so it cannot tell by itself when a probe becomes overdue: this loop also
/// wakes at the moment the next outstanding probe reaches the timeout and calls
/// <see cref="NodeTable.CheckOverdueProbes"/>, which raises <see cref="NodeTable.Changed"/>. A health
/// loop subscribed to that one event hears of every overdue probe within milliseconds.
/// </para>
/// </summary>
internal sealed partial class SurvivalProber : BackgroundService
{
    /// <summary>A probe that is due within a millisecond or two is checked once, not in a spin.</summary>
    private static readonly TimeSpan MinimumWait = TimeSpan.FromMilliseconds(5);

    private readonly NodeTable _nodes;
    private readonly AgentConnections _connections;
    private readonly AggregatorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SurvivalProber> _logger;
    private long _lastRound = -1;

    public SurvivalProber(NodeTable nodes, AgentConnections connections, AggregatorOptions options, TimeProvider time, ILogger<SurvivalProber> logger)
    {
        _nodes = nodes;
        _connections = connections;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// One pass: first notes the probes that became overdue (so a probe sent one period ago, with the
    /// default timeout of one period, is overdue before the next is sent), then sends a round when one
    /// is due. Returns how long to wait before the next pass. Tests call it with a fake clock.
    /// </summary>
    public TimeSpan Tick()
    {
        var overdue = _nodes.CheckOverdueProbes(_options.ProbeTimeout);
        foreach (var (nodeId, age) in overdue.NewlyOverdue)
        {
            Log.ProbeOverdue(_logger, nodeId, (long)age.TotalMilliseconds, _options.ProbeTimeoutMs);
        }

        var now = _time.GetTimestamp();
        var untilRound = _lastRound < 0 ? TimeSpan.Zero : _options.MonitorPeriod - _time.GetElapsedTime(_lastRound, now);
        var untilOverdue = overdue.NextDue;
        if (untilRound <= TimeSpan.Zero)
        {
            if (SendRound() > 0 && (untilOverdue is null || _options.ProbeTimeout < untilOverdue))
            {
                untilOverdue = _options.ProbeTimeout;
            }

            _lastRound = now;
            untilRound = _options.MonitorPeriod;
        }

        var wait = untilOverdue is { } due && due < untilRound ? due : untilRound;
        return wait < MinimumWait ? MinimumWait : wait;
    }

    /// <summary>Sends one probe on every open stream; returns how many were noted.</summary>
    private int SendRound()
    {
        var sent = 0;
        foreach (var connection in _connections.Snapshot())
        {
            if (_nodes.ProbeSent(connection.NodeId, connection.Id) is not { } sequence)
            {
                // Not (or no longer) the node's current stream.
                continue;
            }

            sent++;
            if (!connection.TrySendUrgent(new AggregatorMessage { SurvivalProbe = new SurvivalProbe { Sequence = sequence } }))
            {
                // A full urgent outbox: the stream does not drain. The probe stays outstanding and goes overdue.
                Log.ProbeNotQueued(_logger, connection.NodeId, sequence);
            }
        }

        return sent;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(Tick(), _time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1911, EventName = "ProbeOverdue", Level = LogLevel.Warning,
            Message = "Node '{NodeId}' has not answered a survival probe sent {AgeMs} ms ago (probe timeout {TimeoutMs} ms); it does not survive while it stays unanswered.")]
        public static partial void ProbeOverdue(ILogger logger, string nodeId, long ageMs, int timeoutMs);

        [LoggerMessage(EventId = 1912, EventName = "ProbeNotQueued", Level = LogLevel.Debug,
            Message = "Survival probe {Sequence} for node '{NodeId}' was not queued: its outbox is full or closed.")]
        public static partial void ProbeNotQueued(ILogger logger, string nodeId, ulong sequence);
    }
}
