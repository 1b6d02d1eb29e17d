using Drover.Agent.Configuration;
using Drover.Agent.Link;
using Drover.Protocol.V1;

namespace Drover.Agent.Shims;

/// <summary>
/// Every telemetry interval: the shim's counters per function and service on this node (cumulative
/// since the agent started, so a lost message loses nothing), sent on the agent link while it is up.
/// </summary>
internal sealed class ShimStatsService : BackgroundService
{
    public const int MaxWorkloads = 4096;

    private readonly ShimWorkloads _workloads;
    private readonly AgentOutbox _outbox;
    private readonly AgentOptions _options;
    private readonly TimeProvider _time;

    public ShimStatsService(ShimWorkloads workloads, AgentOutbox outbox, AgentOptions options, TimeProvider time)
    {
        _workloads = workloads;
        _outbox = outbox;
        _options = options;
        _time = time;
    }

    public ShimStats Snapshot()
    {
        var stats = new ShimStats();
        stats.Workloads.Add(_workloads.All
            .OrderBy(w => w.Key.Kind)
            .ThenBy(w => w.Key.Name, StringComparer.Ordinal)
            .Take(MaxWorkloads)
            .Select(w => w.Stats()));
        return stats;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.TelemetryInterval, _time);
        try
        {
            ShimStats? sent = null;
            var reconnected = 0;
            void OnConnected() => Interlocked.Exchange(ref reconnected, 1);
            _outbox.Connected += OnConnected;
            try
            {
                while (await timer.WaitForNextTickAsync(stoppingToken))
                {
                    // Unchanged counters are not sent again on the same stream: an idle node sends nothing.
                    var stats = Snapshot();
                    var fresh = Interlocked.Exchange(ref reconnected, 0) == 1;
                    if (_outbox.IsConnected && (fresh || !stats.Equals(sent)) && _outbox.TrySend(new AgentMessage { ShimStats = stats }))
                    {
                        sent = stats;
                    }
                }
            }
            finally
            {
                _outbox.Connected -= OnConnected;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
