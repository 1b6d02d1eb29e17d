using System.Runtime.InteropServices;
using Drover.Agent.Configuration;
using Drover.Agent.Heartbeats;
using Drover.Agent.Link;
using Drover.Agent.Telemetry;
using Drover.Nvml;
using Drover.Nvml.Tests.Fakes;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Agent.Tests.Telemetry;

/// <summary>
/// The GPU sampling loop, on fake time, as the systemd watchdog sees it: through the real NVML binding on the
/// stand-in, a hung call (the scenario's <c>gpu.&lt;i&gt;.hang</c>) stops its progress and so the keep-alive;
/// with NVML unavailable it keeps completing, so such an agent is kept alive.
/// </summary>
[Collection(FakeNvmlCollection.Name)]
public sealed class TelemetryServiceWatchdogTests(FakeNvmlFixture fixture)
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Every wait's bound: generous, for a loaded 2-core machine.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static readonly AgentOptions Options = new() { ServerNumber = 1, TelemetryIntervalMs = 1000 };

    private readonly BoundWatchingTimeProvider _time = new(Options.NvmlCallTimeout);
    private readonly RecordingNotifier _notifier = new();
    private readonly CapturingLogger<SystemdWatchdog> _logger = new();
    private readonly AgentOptions _options = Options;

    /// <summary>
    /// One GPU's call hangs: after the call bound that GPU is reported unhealthy (hung), the other keeps being
    /// sampled, and the loop, so the keep-alive, goes on; no new call is made on the hung GPU until it returns.
    /// </summary>
    [Fact]
    public async Task ExecuteAsync_OneGpusCallHangs_ThatGpuIsUnhealthyAndSamplingGoesOn()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var loops = new WatchedLoops(_time, () => Second, _options.TelemetryInterval);
        var watchdog = new SystemdWatchdog(_notifier, Timeout, loops.All, _logger);
        var outbox = new AgentOutbox();
        var sent = outbox.Open();
        outbox.Attach(sent);
        var telemetry = CreateTelemetry(nvml);
        using var service = new TelemetryService(telemetry, outbox, _options, loops, new SamplingCost(), _time);
        try
        {
            // GPU 1 hangs before the loop starts, so the sample that hangs is the one the loop takes at start, on a
            // thread of its own. (A sample that hangs inside a tick of the fake clock, given inline in Advance, would
            // hold the clock's timers for good: a later Advance only moves the time.) Probing made identity calls only.
            scenario.Write(Scenario.TwoGpus("gpu.1.hang=1"));
            await service.StartAsync(CancellationToken.None).WaitAsync(Bound);
            await WaitUntilAsync(() => HungCalls() > 0);

            // The bound passes: the sample goes out with GPU 1 hung and GPU 0 sampled, and the loop completes. The clock
            // moves on once the sampling thread has set the bound's timer: GPU 1's call can be seen hung before that.
            await _time.BoundSet.WaitAsync(Bound);
            _time.Advance(_options.NvmlCallTimeout);
            var sample = await NextTelemetryAsync(sent);
            Assert.Equal(GpuHealth.Ok, sample.Gpus.Single(g => g.Gpu.Index == 0).Health);
            var hung = sample.Gpus.Single(g => g.Gpu.Index == 1);
            Assert.Equal(GpuHealth.Unhealthy, hung.Health);
            Assert.Contains("has not returned", hung.HealthReason, StringComparison.Ordinal);
            await WaitUntilAsync(() => loops.Sampling.SinceLastCompleted == TimeSpan.Zero);
            Heartbeat(loops, watchdog);
            Assert.Equal(1, _notifier.KeepAlives);

            // The next samples make no second call on the hung GPU, and need no bound to pass.
            _time.Advance(Second);
            var next = await NextTelemetryAsync(sent);
            Assert.Equal(GpuHealth.Unhealthy, next.Gpus.Single(g => g.Gpu.Index == 1).Health);
            Assert.Equal(1U, HungCalls());
            Assert.Empty(_logger.Entries);
        }
        finally
        {
            // Never leave a thread blocked in the stand-in for the tests that follow.
            scenario.Write(Scenario.TwoGpus());
            await WaitUntilAsync(() => HungCalls() == 0);
            await service.StopAsync(CancellationToken.None).WaitAsync(Bound);
        }
    }

    /// <summary>
    /// Every GPU's call hangs, so the library does: the sample waits, the loop stops, and the keep-alive is withheld
    /// until a call returns (the watchdog restarts an agent that stays so).
    /// </summary>
    [Fact]
    public async Task ExecuteAsync_EveryGpusCallHangs_StopsSamplingAndWithholdsKeepAliveUntilOneReturns()
    {
        using var scenario = new Scenario(Scenario.TwoGpus());
        using var nvml = fixture.Create(scenario);
        var loops = new WatchedLoops(_time, () => Second, _options.TelemetryInterval);
        var watchdog = new SystemdWatchdog(_notifier, Timeout, loops.All, _logger);
        using var service = new TelemetryService(CreateTelemetry(nvml), new AgentOutbox(), _options, loops, new SamplingCost(), _time);
        await service.StartAsync(CancellationToken.None).WaitAsync(Bound);
        var hangingTick = Task.CompletedTask;
        try
        {
            _time.Advance(Second);
            await WaitUntilAsync(() => loops.Sampling.SinceLastCompleted == TimeSpan.Zero);
            Heartbeat(loops, watchdog);
            Assert.Equal(1, _notifier.KeepAlives);

            // Both GPUs' next calls hang. The tick is given on another thread: the loop's continuation may run
            // inline in Advance, and hang there.
            scenario.Write(Scenario.TwoGpus("gpu.0.hang=1\ngpu.1.hang=1"));
            hangingTick = Task.Run(() => _time.Advance(Second));
            await WaitUntilAsync(() => HungCalls() == 2);

            // Stuck means no iteration for more than WatchdogSec plus the telemetry interval (11 s): 13 s or more
            // now since the last one completed, well past the call bound, which does not free a sample whose every
            // GPU hangs.
            _time.Advance(Timeout + (3 * Second));
            Heartbeat(loops, watchdog);

            Assert.True(loops.Sampling.SinceLastCompleted >= Timeout + (3 * Second), $"{loops.Sampling.SinceLastCompleted}");
            Assert.Equal(1, _notifier.KeepAlives);
            var warning = Assert.Single(_logger.Entries);
            Assert.Equal(2202, warning.EventId);
            Assert.Contains("'GPU sampling'", warning.Message, StringComparison.Ordinal);

            // The calls return; the loop completes the iteration it was in, and the keep-alive goes out again.
            scenario.Write(Scenario.TwoGpus());
            await WaitUntilAsync(() => loops.Sampling.SinceLastCompleted == TimeSpan.Zero);
            Heartbeat(loops, watchdog);

            Assert.Equal(2, _notifier.KeepAlives);
            Assert.Equal([2202, 2203], _logger.Entries.Select(e => e.EventId));
        }
        finally
        {
            scenario.Write(Scenario.TwoGpus());
            await WaitUntilAsync(() => HungCalls() == 0);
            await hangingTick.WaitAsync(Bound);
            await service.StopAsync(CancellationToken.None).WaitAsync(Bound);
        }
    }

    [Fact]
    public async Task ExecuteAsync_NvmlLibraryMissing_KeepsFeedingTheWatchdog()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"drover-no-nvml-{Guid.NewGuid():N}", "libnvidia-ml.so.1");
        using var nvml = NvmlFactory.Create(new NvmlOptions { LibraryPath = missing });
        var loops = new WatchedLoops(_time, () => Second, _options.TelemetryInterval);
        var watchdog = new SystemdWatchdog(_notifier, Timeout, loops.All, _logger);
        using var service = new TelemetryService(CreateTelemetry(nvml), new AgentOutbox(), _options, loops, new SamplingCost(), _time);
        await service.StartAsync(CancellationToken.None).WaitAsync(Bound);
        try
        {
            // 30 s: three re-probe intervals, each a failed load, and a keep-alive every second.
            for (var i = 0; i < 30; i++)
            {
                _time.Advance(Second);
                await WaitUntilAsync(() => loops.Sampling.SinceLastCompleted == TimeSpan.Zero);
                Heartbeat(loops, watchdog);
            }

            Assert.Equal(30, _notifier.KeepAlives);
            Assert.Empty(_logger.Entries);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None).WaitAsync(Bound);
        }
    }

    private GpuTelemetry CreateTelemetry(INvml nvml)
        => new(nvml, new GpuHealthBoard(_time, TimeSpan.FromSeconds(300)), new ReportedGpuWork(), _options, _time, NullLogger<GpuTelemetry>.Instance);

    /// <summary>What the heartbeat loop does each tick.</summary>
    private static void Heartbeat(WatchedLoops loops, SystemdWatchdog watchdog)
    {
        loops.Heartbeat.Completed();
        watchdog.Pet();
    }

    /// <summary>The stand-in's count of calls blocked by <c>hang=1</c>, read through its test-only export.</summary>
    private uint HungCalls()
    {
        var library = NativeLibrary.Load(fixture.LibraryPath);
        try
        {
            return Marshal.GetDelegateForFunctionPointer<HungCallsFunction>(NativeLibrary.GetExport(library, "fake_nvml_hung_calls"))();
        }
        finally
        {
            NativeLibrary.Free(library);
        }
    }

    /// <summary>The next telemetry the loop sends.</summary>
    private static async Task<Protocol.V1.Telemetry> NextTelemetryAsync(System.Threading.Channels.Channel<OutgoingMessage> sent)
    {
        using var timeout = new CancellationTokenSource(Bound);
        while (true)
        {
            var message = await sent.Reader.ReadAsync(timeout.Token);
            if (message.Message.Telemetry is { } telemetry)
            {
                return telemetry;
            }
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Bound);
        while (!condition())
        {
            await Task.Delay(TimeSpan.FromMilliseconds(10), timeout.Token);
        }
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate uint HungCallsFunction();

    /// <summary>A fake clock that says when a timer of the NVML call bound has been created: the sampling thread is then waiting on it.</summary>
    private sealed class BoundWatchingTimeProvider(TimeSpan bound) : FakeTimeProvider
    {
        private readonly TaskCompletionSource _boundSet = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task BoundSet => _boundSet.Task;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            if (dueTime == bound)
            {
                _boundSet.TrySetResult();
            }

            return timer;
        }
    }
}
