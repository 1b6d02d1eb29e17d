using System.Net;
using System.Net.Sockets;
using Drover.Agent.Instances;

namespace Drover.Agent.Shims;

/// <summary>
/// Decides which instances are ready for requests: a running instance's health_path answers 2xx (or,
/// without one, its port accepts a connection). Probed about every 200 ms until it passes, about every
/// second after; a new process starts unready. Readiness changes reach the aggregator as instance reports.
/// </summary>
internal sealed partial class InstanceHealthChecks : BackgroundService
{
    public static readonly TimeSpan UnreadyInterval = TimeSpan.FromMilliseconds(200);
    public static readonly TimeSpan ReadyInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);

    private readonly InstanceManager _instances;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TimeProvider _time;
    private readonly ILogger<InstanceHealthChecks> _logger;
    private readonly Dictionary<string, Probe> _probes = new(StringComparer.Ordinal);
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false })
    {
        Timeout = ProbeTimeout,
    };

    public InstanceHealthChecks(InstanceManager instances, TimeProvider time, ILogger<InstanceHealthChecks> logger)
    {
        _instances = instances;
        _time = time;
        _logger = logger;
    }

    public override void Dispose()
    {
        _client.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // An idle node wakes only when its instances change; otherwise as often as the most
        // frequent probe due (an idle agent's CPU is a budget: docs/BENCHMARKS.md).
        _instances.Changed += OnInstancesChanged;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var changed = _changed.Task;
                var next = Tick(stoppingToken);
                if (next is { } interval)
                {
                    await Task.WhenAny(Task.Delay(interval, _time, stoppingToken), changed);
                }
                else
                {
                    await changed.WaitAsync(stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _instances.Changed -= OnInstancesChanged;
        }
    }

    private void OnInstancesChanged()
        => Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>
    /// Starts the probes that are due; each runs on its own, so a slow instance delays no other.
    /// Returns when to look again: soon while an instance is not ready (or not running yet), at the
    /// ready interval otherwise, and null when there is nothing to probe until the instances change.
    /// </summary>
    private TimeSpan? Tick(CancellationToken stoppingToken)
    {
        var now = _time.GetTimestamp();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        TimeSpan? due = null;
        foreach (var supervisor in _instances.All)
        {
            seen.Add(supervisor.InstanceId);
            if (InstanceSupervisor.IsStdio(supervisor.Spec))
            {
                // Nothing to probe: one process per request.
                _probes.Remove(supervisor.InstanceId);
                continue;
            }

            var wants = supervisor.IsRunning && supervisor.Traffic.Ready ? ReadyInterval : UnreadyInterval;
            due = due is { } sooner && sooner < wants ? sooner : wants;
            if (!supervisor.IsRunning)
            {
                // Not running: the supervisor says so itself; probed again once it runs.
                _probes.Remove(supervisor.InstanceId);
                continue;
            }

            var pid = supervisor.CurrentPid;
            if (_probes.TryGetValue(supervisor.InstanceId, out var probe) && probe.Pid == pid
                && (probe.Running is { IsCompleted: false } || _time.GetElapsedTime(probe.At, now) < probe.Interval))
            {
                continue;
            }

            var next = new Probe(pid, now, supervisor.Traffic.Ready ? ReadyInterval : UnreadyInterval, null);
            _probes[supervisor.InstanceId] = next with { Running = CheckAsync(supervisor, stoppingToken) };
        }

        foreach (var gone in _probes.Keys.Where(id => !seen.Contains(id)).ToList())
        {
            _probes.Remove(gone);
        }

        return due;
    }

    private async Task CheckAsync(InstanceSupervisor supervisor, CancellationToken stoppingToken)
    {
        var pid = supervisor.CurrentPid;
        var healthy = await IsHealthyAsync(supervisor.Port, supervisor.Spec.Shim?.HealthPath ?? "", stoppingToken);
        if (supervisor.CurrentPid != pid)
        {
            // The process changed meanwhile: this answer was about the old one.
            return;
        }

        var wasReady = supervisor.Traffic.Ready;
        supervisor.Traffic.SetHealthy(healthy);
        if (wasReady != supervisor.Traffic.Ready)
        {
            Log.ReadinessChanged(_logger, supervisor.InstanceId, supervisor.Traffic.Ready);
        }
    }

    /// <summary>GET health_path answers 2xx, or (without one) the port accepts a connection.</summary>
    public async Task<bool> IsHealthyAsync(int port, string healthPath, CancellationToken cancellationToken)
    {
        try
        {
            if (healthPath.Length > 0)
            {
                var path = healthPath.StartsWith('/') ? healthPath : "/" + healthPath;
                using var response = await _client.GetAsync(new Uri($"http://127.0.0.1:{port}{path}"), cancellationToken);
                return response.IsSuccessStatusCode;
            }

            using var deadline = new CancellationTokenSource(ProbeTimeout, _time);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
            return true;
        }
        catch (Exception ex) when (ex is HttpRequestException or SocketException or OperationCanceledException or UriFormatException)
        {
            return false;
        }
    }

    private sealed record Probe(int Pid, long At, TimeSpan Interval, Task? Running);

    private static partial class Log
    {
        [LoggerMessage(EventId = 3030, EventName = "InstanceReadinessChanged", Level = LogLevel.Information,
            Message = "Instance '{InstanceId}' is now ready for requests: {Ready}.")]
        public static partial void ReadinessChanged(ILogger logger, string instanceId, bool ready);
    }
}
