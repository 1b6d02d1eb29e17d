using System.Diagnostics;
using Drover.Agent.Configuration;
using Drover.Agent.Instances;
using Drover.Agent.Telemetry;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Agent.Tests.Telemetry.Probe;

/// <summary>
/// The CUDA launch probe for real: the sample workload runs against the stand-in libcuda with the probe preloaded, and
/// its page is read with the agent's reader. Counts are compared exactly once the workload's work has completed (waited
/// for, never timed); counts in flight only where the workload holds them there.
/// </summary>
[Collection(CudaProbeCollection.Name)]
public sealed class CudaProbeTests(CudaProbeFixture fixture) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>The stand-in NVML's first default GPU, which the stand-in libcuda's device 0 must match.</summary>
    private const string DefaultGpu = "GPU-fa4e0000-0000-4000-8000-000000000000";

    private readonly string _root = Directory.CreateTempSubdirectory("drover-probe-").FullName;

    private string Pages => Path.Combine(_root, "instance-1");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    public static TheoryData<string, string[], int> Submissions => new()
    {
        { "cuLaunchKernel by dlsym, 4 explicit streams", ["--streams", "4", "--count", "200"], 200 },
        { "cuLaunchKernelEx by cuGetProcAddress", ["--resolve", "getproc", "--api", "ex", "--streams", "2", "--count", "150"], 150 },
        { "cuLaunchCooperativeKernel on the legacy default stream", ["--api", "coop", "--count", "120"], 120 },
        { "_ptsz entry points by dlsym, 4 threads on their per-thread streams", ["--ptds", "--threads", "4", "--count", "200"], 200 },
        { "cuGetProcAddress with the per-thread flag, 4 threads", ["--resolve", "getproc", "--ptds", "--threads", "4", "--count", "180"], 180 },
        { "cuLaunchKernel_ptsz on explicit streams", ["--ptds", "--streams", "3", "--count", "90"], 90 },
    };

    [Theory]
    [MemberData(nameof(Submissions))]
    public async Task Launches_AllComplete_CountsExact(string what, string[] args, int expected)
    {
        Directory.CreateDirectory(Pages);
        using var workload = fixture.Start(Pages, [.. args, "--kernel-us", "200", "--hold"]);
        await workload.WaitForLineAsync("done", Timeout);

        var device = await WaitForDeviceAsync(d => d.Completed == (ulong)expected, $"{what}: {expected} completed");
        Assert.Equal((ulong)expected, device.Submitted);
        Assert.Equal(0UL, device.InFlight);
        Assert.Equal(0UL, device.Abandoned);
        Assert.Equal(0UL, device.CaptureSkipped);
        Assert.Equal(DefaultGpu[4..], device.UuidTail);
    }

    [Theory]
    [InlineData("dlsym")]
    [InlineData("getproc")]
    public async Task GraphLaunches_CountOnce_CapturedLaunchesNot(string resolve)
    {
        Directory.CreateDirectory(Pages);
        using var workload = fixture.Start(Pages, ["--resolve", resolve, "--api", "graph", "--graph-kernels", "3", "--streams", "2", "--count", "40", "--kernel-us", "100", "--hold"]);
        await workload.WaitForLineAsync("done", Timeout);

        var device = await WaitForDeviceAsync(d => d.Completed == 40, "40 graph launches completed");
        Assert.Equal((40UL, 0UL, 3UL), (device.Submitted, device.InFlight, device.CaptureSkipped));
    }

    [Fact]
    public async Task Workload_WithoutTheProbe_LeavesNoPage()
    {
        Directory.CreateDirectory(Pages);
        using var workload = fixture.Start(Pages, ["--count", "10", "--kernel-us", "100", "--hold"], probed: false);
        await workload.WaitForLineAsync("done", Timeout);
        Assert.Empty(Directory.GetFiles(Pages));
    }

    [Fact]
    public async Task CudaVisibleDevices_ByUuid_PageNamesThatGpu()
    {
        Directory.CreateDirectory(Pages);
        const string gpu = "GPU-0badc0de-1234-4000-8000-00000000beef";
        using var workload = fixture.Start(Pages, ["--count", "5", "--kernel-us", "100", "--hold"], environment: new Dictionary<string, string> { ["CUDA_VISIBLE_DEVICES"] = gpu });
        await workload.WaitForLineAsync("done", Timeout);

        var device = await WaitForDeviceAsync(d => d.Completed == 5, "5 completed");
        Assert.Equal(gpu[4..], device.UuidTail);
    }

    [Fact]
    public async Task StickyError_WorkInFlightAbandoned_NothingLeftInFlight()
    {
        Directory.CreateDirectory(Pages);
        // Long kernels still queued when the "trap" kernel fails the context.
        using var workload = fixture.Start(Pages, ["--streams", "2", "--count", "20", "--kernel-us", "200000", "--trap", "--hold"]);
        await workload.WaitForLineAsync("done", Timeout);

        var device = await WaitForDeviceAsync(d => d.Abandoned > 0 && d.InFlight == 0, "the failed context's work abandoned");
        Assert.Equal(21UL, device.Submitted); // the trap kernel is a submission too
        Assert.Equal(device.Submitted, device.Completed + device.Abandoned);
        Assert.True(device.Resets >= 1, $"resets {device.Resets}");
    }

    [Fact]
    public async Task SteadyLoad_InFlight_IsRateTimesDuration()
    {
        Directory.CreateDirectory(Pages);
        // 100 launches a second of 60 ms kernels over 16 streams: 6 in flight. Bounds are wide (a loaded machine
        // delays the stand-in's workers, which holds more in flight); the median of a few reads is taken.
        using var workload = fixture.Start(Pages, ["--forever", "--rate", "100", "--kernel-us", "60000", "--streams", "16"]);
        await workload.WaitForLineAsync("ready", Timeout);
        var device = await WaitForDeviceAsync(d => d.Completed >= 100, "a second of launches completed");

        // The reads are spaced by the workload's own progress as the probe publishes it, not by the host's clock: each
        // after 5 more launches completed (50 ms of the workload's time at 100 a second), however slowly the host runs it.
        var reads = new List<ulong>();
        for (var i = 0; i < 7; i++)
        {
            var completed = device.Completed;
            device = await WaitForDeviceAsync(d => d.Completed >= completed + 5, $"read {i + 1}: 5 more launches completed after {completed}");
            reads.Add(device.InFlight);
        }

        reads.Sort();
        var median = reads[reads.Count / 2];
        Assert.InRange(median, 3UL, 12UL);
    }

    [Fact]
    public async Task KilledMidBurst_LeavesNoCount_AndItsPageIsDeleted()
    {
        Directory.CreateDirectory(Pages);
        var measured = new MeasuredGpuWork(Options(), TimeProvider.System, NullLogger<MeasuredGpuWork>.Instance, Instances);
        using var workload = fixture.Start(Pages, ["--forever", "--rate", "200", "--kernel-us", "100000", "--streams", "32"]);
        await workload.WaitForLineAsync("ready", Timeout);

        await WaitUntilAsync(() => Refreshed(measured, out var length) && length >= 1, "work in flight measured");
        workload.Process.Kill();
        await workload.Process.WaitForExitAsync();

        measured.Refresh([DefaultGpu]);
        Assert.False(measured.TryGetQueueLength(DefaultGpu, out _, out _));
        Assert.Empty(Directory.GetFiles(Pages));
        measured.Dispose();
    }

    [Fact]
    public async Task StoppedProcess_AgesOut_ThenCountsAgainWhenItGoesOn()
    {
        Directory.CreateDirectory(Pages);
        var time = new FakeTimeProvider();
        var measured = new MeasuredGpuWork(Options(), time, NullLogger<MeasuredGpuWork>.Instance, Instances);
        using var workload = fixture.Start(Pages, ["--forever", "--rate", "200", "--kernel-us", "100000", "--streams", "32"]);
        await workload.WaitForLineAsync("ready", Timeout);
        await WaitUntilAsync(() => Refreshed(measured, out var length) && length >= 1, "work in flight measured");

        // Stopped (SIGSTOP), its probe publishes nothing: once the staleness has passed without a publication, it no longer counts.
        Assert.True(LibC.Signal(workload.Process.Id, 19));
        // Every thread stopped (the kernel says so), no publication can follow: the fake clock alone decides from here.
        await WaitUntilAsync(() => AllThreadsStopped(workload.Process.Id), "every thread of the workload stopped");
        measured.Refresh([DefaultGpu]);
        time.Advance(TimeSpan.FromMilliseconds(Options().GpuProbeStalenessMs + 1));
        measured.Refresh([DefaultGpu]);
        Assert.False(measured.TryGetQueueLength(DefaultGpu, out _, out _));

        Assert.True(LibC.Signal(workload.Process.Id, 18));
        await WaitUntilAsync(() => Refreshed(measured, out var length) && length >= 1, "counted again once it goes on");
        measured.Dispose();
    }

    [Fact]
    public async Task Page_OfAnotherGpu_DoesNotCount()
    {
        Directory.CreateDirectory(Pages);
        var measured = new MeasuredGpuWork(Options(), TimeProvider.System, NullLogger<MeasuredGpuWork>.Instance,
            () => [new ProbedInstance("instance-1", LibC.EffectiveUserId, ["GPU-11111111-2222-4333-8444-555555555555"])]);
        using var workload = fixture.Start(Pages, ["--forever", "--rate", "200", "--kernel-us", "100000", "--streams", "8"]);
        await workload.WaitForLineAsync("ready", Timeout);
        await WaitForDeviceAsync(d => d.InFlight > 0, "work in flight");

        measured.Refresh([DefaultGpu, "GPU-11111111-2222-4333-8444-555555555555"]);
        Assert.False(measured.TryGetQueueLength(DefaultGpu, out _, out _)); // not a GPU the instance was given
        measured.Dispose();
    }

    [Fact]
    public void PageLayout_MatchesTheCHeader()
    {
        // The C header's offsets, compiled: a change on one side only fails here.
        var source = Path.Combine(_root, "layout.c");
        File.WriteAllText(source, """
            #include <stddef.h>
            #include <stdio.h>
            #include "drover_probe_page.h"
            int main(void) {
                printf("%zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %u %u\n",
                    offsetof(struct drover_probe_page, magic), offsetof(struct drover_probe_page, version),
                    offsetof(struct drover_probe_page, pid), offsetof(struct drover_probe_page, device_count),
                    offsetof(struct drover_probe_page, sequence), offsetof(struct drover_probe_page, publishes),
                    offsetof(struct drover_probe_page, start_time), offsetof(struct drover_probe_page, devices),
                    sizeof(struct drover_probe_device), offsetof(struct drover_probe_device, submitted),
                    offsetof(struct drover_probe_device, completed), offsetof(struct drover_probe_device, in_flight),
                    offsetof(struct drover_probe_device, oldest_age_ns), offsetof(struct drover_probe_device, abandoned),
                    offsetof(struct drover_probe_device, capture_skipped), DROVER_PROBE_MAX_DEVICES, DROVER_PROBE_FILE_BYTES);
                return 0;
            }
            """);
        var binary = Path.Combine(_root, "layout");
        Run("gcc", "-std=c11", "-I", Path.Combine(fixture.RepositoryRoot, "native", "include"), "-o", binary, source);
        var printed = Run(binary).Trim().Split(' ').Select(int.Parse).ToArray();
        int[] expected =
        [
            GpuProbePage.MagicOffset, GpuProbePage.VersionOffset, GpuProbePage.PidOffset, GpuProbePage.DeviceCountOffset,
            GpuProbePage.SequenceOffset, GpuProbePage.PublishesOffset, GpuProbePage.StartTimeOffset, GpuProbePage.HeaderBytes,
            GpuProbePage.DeviceBytes, GpuProbePage.SubmittedOffset, GpuProbePage.CompletedOffset, GpuProbePage.InFlightOffset,
            GpuProbePage.OldestAgeOffset, GpuProbePage.AbandonedOffset, GpuProbePage.CaptureSkippedOffset, GpuProbePage.MaxDevices,
            GpuProbePage.FileBytes,
        ];
        Assert.Equal(expected, printed);
    }

    private AgentOptions Options() => new() { GpuProbeDirectory = _root, GpuProbeStalenessMs = 2000 };

    private IEnumerable<ProbedInstance> Instances() => [new ProbedInstance("instance-1", LibC.EffectiveUserId, [])];

    private static bool Refreshed(MeasuredGpuWork measured, out double length)
    {
        measured.Refresh([DefaultGpu]);
        return measured.TryGetQueueLength(DefaultGpu, out length, out _);
    }

    /// <summary>The page's only device, or null before the probe published one.</summary>
    private GpuProbeDevice? ReadDevice()
    {
        foreach (var file in Directory.GetFiles(Pages, "*.page"))
        {
            try
            {
                using var page = GpuProbePage.Map(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
                if (page.Read() is { Devices.Count: 1 } snapshot)
                {
                    return snapshot.Devices[0];
                }
            }
            catch (IOException)
            {
                // Not sized yet, or gone.
            }
        }

        return null;
    }

    private async Task<GpuProbeDevice> WaitForDeviceAsync(Func<GpuProbeDevice, bool> condition, string what)
    {
        GpuProbeDevice? last = null;
        await WaitUntilAsync(() => (last = ReadDevice()) is { } device && condition(device), () => $"{what}; last read: {last}");
        return last!;
    }

    private static Task WaitUntilAsync(Func<bool> condition, string what) => WaitUntilAsync(condition, () => what);

    /// <summary>
    /// Checks <paramref name="condition"/> until it holds: it reads what the probe published (its page, memory another
    /// process writes, which wakes no reader) or what the kernel shows of the workload, so it is checked again and
    /// again; no test reads anything into the time between two checks, and <see cref="Timeout"/> only fails a test
    /// that would otherwise hang.
    /// </summary>
    private static async Task WaitUntilAsync(Func<bool> condition, Func<string> what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > Timeout)
            {
                Assert.Fail($"Not within {Timeout.TotalSeconds} s: {what()}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Whether every thread of <paramref name="pid"/> is stopped by a signal (state T in its <c>/proc</c> stat).</summary>
    private static bool AllThreadsStopped(int pid) => Directory.GetDirectories($"/proc/{pid}/task").All(task =>
    {
        try
        {
            var stat = File.ReadAllText(Path.Combine(task, "stat"));
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('T');
        }
        catch (IOException)
        {
            return true; // the thread ended
        }
    });

    private static string Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program} failed: {error}");
        return output;
    }
}
