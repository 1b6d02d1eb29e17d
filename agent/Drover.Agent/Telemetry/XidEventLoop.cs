using Drover.Agent.Configuration;
using Drover.Nvml;

namespace Drover.Agent.Telemetry;

/// <summary>
/// Waits for NVML's critical GPU events on a thread of its own (the wait blocks in native code) and
/// marks the GPU they name on the health board: XidCriticalError with its XID, DoubleBitEccError as
/// XID 48, GpuUnavailableError as its data or XID 79. One GPU's event marks that GPU alone. The event
/// set is rebuilt whenever the devices are enumerated again (after a GPU was lost and found back).
/// </summary>
internal sealed partial class XidEventLoop : IHostedService, IDisposable
{
    public const GpuEventTypes WatchedEvents = GpuEventTypes.XidCriticalError | GpuEventTypes.DoubleBitEccError | GpuEventTypes.GpuUnavailableError;

    private static readonly TimeSpan WaitSlice = TimeSpan.FromMilliseconds(500);
    private readonly GpuTelemetry _telemetry;
    private readonly INvml _nvml;
    private readonly GpuHealthBoard _health;
    private readonly TimeSpan _retry;
    private readonly ILogger<XidEventLoop> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Thread? _thread;

    public XidEventLoop(GpuTelemetry telemetry, INvml nvml, GpuHealthBoard health, AgentOptions options, ILogger<XidEventLoop> logger)
    {
        _telemetry = telemetry;
        _nvml = nvml;
        _health = health;
        _retry = options.GpuReprobeInterval;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "drover-xid-events" };
        _thread.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_thread is not null)
        {
            // The native wait returns within one slice.
            await Task.Run(() => _thread.Join(WaitSlice * 4), cancellationToken);
        }
    }

    public void Dispose()
    {
        // The thread may still be inside a native wait (a driver that ignores the timeout): it then
        // holds the token's wait handle, which must outlive it.
        if (_thread is null || !_thread.IsAlive)
        {
            _stopping.Dispose();
        }
    }

    /// <summary>The XID an event stands for.</summary>
    internal static uint XidOf(GpuEvent gpuEvent) => gpuEvent.Type switch
    {
        GpuEventTypes.XidCriticalError => (uint)gpuEvent.Data,
        GpuEventTypes.DoubleBitEccError => 48,
        GpuEventTypes.GpuUnavailableError => gpuEvent.Data is > 0 and <= uint.MaxValue ? (uint)gpuEvent.Data : 79,
        _ => (uint)gpuEvent.Data,
    };

    private void Run()
    {
        var token = _stopping.Token;
        IGpuEventSet? set = null;
        var generation = -1;
        string? lastProblem = null;
        try
        {
            while (!token.IsCancellationRequested)
            {
                if (set is null || generation != _telemetry.Generation)
                {
                    set?.Dispose();
                    set = null;
                    generation = _telemetry.Generation;
                    // Whole GPUs only: NVML reports a MIG instance's events on its GPU, naming the instance.
                    var devices = _telemetry.Devices.Where(d => d.Mig is null).ToArray();
                    var created = devices.Length == 0 ? default : _nvml.CreateEventSet(devices, WatchedEvents);
                    if (devices.Length == 0 || !created.IsSuccess)
                    {
                        var problem = devices.Length == 0 ? "no GPUs to watch" : created.Error!.ToString();
                        if (problem != lastProblem)
                        {
                            lastProblem = problem;
                            Log.NotWatching(_logger, problem);
                        }

                        token.WaitHandle.WaitOne(_retry);
                        continue;
                    }

                    set = created.Value;
                    lastProblem = null;
                    Log.Watching(_logger, devices.Length);
                }

                var result = set.Wait(WaitSlice);
                if (result.TryGetValue(out var gpuEvent))
                {
                    if (gpuEvent is { } e)
                    {
                        var xid = XidOf(e);
                        _health.Record(e.Uuid, xid);
                        Log.CriticalEvent(_logger, e.Uuid, e.Type.ToString(), xid, GpuHealthTable.KindOf(xid).ToString().ToLowerInvariant());
                    }

                    continue;
                }

                // A lost GPU makes every wait fail at once: leave the set until the next probe rebuilds it.
                var error = result.Error!;
                if (error.ToString() != lastProblem)
                {
                    lastProblem = error.ToString();
                    Log.WaitFailed(_logger, lastProblem);
                }

                set.Dispose();
                set = null;
                token.WaitHandle.WaitOne(error.Code == NvmlReturn.GpuIsLost ? TimeSpan.FromSeconds(1) : _retry);
            }
        }
        finally
        {
            set?.Dispose();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2401, EventName = "XidWatching", Level = LogLevel.Information,
            Message = "Watching {Count} GPUs for XID, double-bit ECC and GPU-unavailable events.")]
        public static partial void Watching(ILogger logger, int count);

        [LoggerMessage(EventId = 2402, EventName = "XidNotWatching", Level = LogLevel.Warning,
            Message = "Not watching GPU events: {Reason}. Trying again later.")]
        public static partial void NotWatching(ILogger logger, string reason);

        [LoggerMessage(EventId = 2403, EventName = "GpuCriticalEvent", Level = LogLevel.Warning,
            Message = "GPU '{Uuid}' reported {EventType} (XID {Xid}, {Kind}); it is held for the GPU's health (hardware: unhealthy, unclassified: degraded, application: recorded only).")]
        public static partial void CriticalEvent(ILogger logger, string uuid, string eventType, uint xid, string kind);

        [LoggerMessage(EventId = 2404, EventName = "XidWaitFailed", Level = LogLevel.Warning,
            Message = "Waiting for GPU events failed: {Reason}. The event set is rebuilt after the next probe.")]
        public static partial void WaitFailed(ILogger logger, string reason);
    }
}
