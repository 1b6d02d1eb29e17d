using Drover.Agent.Configuration;
using Drover.Agent.Heartbeats;
using Drover.Agent.Link;
using Drover.Protocol.V1;

namespace Drover.Agent.Telemetry;

/// <summary>
/// Every telemetry interval: one sample of every GPU, sent on the agent link while it is up. Every
/// re-probe interval, when NVML is unavailable or a GPU is lost, NVML is probed again. Each completed
/// iteration is marked for the systemd watchdog, which a hung NVML call thus stops; with NVML unavailable
/// (no driver, no GPUs) an iteration is quick, so such an agent is still kept alive.
/// </summary>
internal sealed class TelemetryService : BackgroundService
{
    private readonly GpuTelemetry _telemetry;
    private readonly AgentOutbox _outbox;
    private readonly AgentOptions _options;
    private readonly TimeProvider _time;
    private readonly LoopProgress _progress;
    private readonly SamplingCost _cost;

    public TelemetryService(GpuTelemetry telemetry, AgentOutbox outbox, AgentOptions options, WatchedLoops loops, SamplingCost cost, TimeProvider time)
    {
        _cost = cost;
        _progress = loops.Sampling;
        _telemetry = telemetry;
        _outbox = outbox;
        _options = options;
        _time = time;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.TelemetryInterval, _time);
        var lastProbe = _time.GetTimestamp();
        try
        {
            do
            {
                if (_telemetry.NeedsProbe && _time.GetElapsedTime(lastProbe) >= _options.GpuReprobeInterval)
                {
                    _telemetry.Probe();
                    lastProbe = _time.GetTimestamp();
                }

                // Sampled even while the link is down, so a GPU lost meanwhile is noticed and logged.
                var started = _time.GetTimestamp();
                var sample = _telemetry.Sample();
                _cost.Add(_time.GetElapsedTime(started));
                _outbox.TrySend(new AgentMessage { Telemetry = sample });
                _progress.Completed();
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
