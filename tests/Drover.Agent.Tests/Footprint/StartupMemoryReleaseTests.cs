using Drover.Agent.Footprint;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Agent.Tests.Footprint;

public sealed class StartupMemoryReleaseTests
{
    [Fact]
    public void ReadOnlyFileMappings_TakesOnlyFilesMappedWithoutWrite()
    {
        string[] maps =
        [
            "55e2381ae000-55e2381cd000 r--p 00000000 fe:00 5373964                    /usr/bin/drover-agent",
            "55e2381cd000-55e238aad000 r-xp 0001f000 fe:00 5373964                    /usr/bin/drover-agent",
            "55e238f1a000-55e238f59000 rw-p 01173000 fe:00 5373964                    /usr/bin/drover-agent",
            "55e238f59000-55e239412000 rw-p 00000000 00:00 0 ",
            "7f1a64000000-7f1a64122000 rw-p 00000000 00:00 0",
            "7f1a86517000-7f1a86610000 r--p 00000000 00:00 0                          [vvar]",
            "7f1a86700000-7f1a86800000 r-xp 00028000 fe:00 1234                       /usr/lib/x86_64-linux-gnu/libc.so.6",
            "7f1a86900000-7f1a86a00000 r--p 00000000 fe:00 99                         /tmp/a file with spaces.so",
            "garbage line",
            "zz-10 r--p 00000000 fe:00 1 /bad/start",
            "20-10 r--p 00000000 fe:00 1 /bad/order",
        ];

        var found = StartupMemoryRelease.ReadOnlyFileMappings(maps).ToArray();

        Assert.Equal(
            [
                (0x55e2381ae000UL, 0x55e2381cd000UL),
                (0x55e2381cd000UL, 0x55e238aad000UL),
                (0x7f1a86700000UL, 0x7f1a86800000UL),
                (0x7f1a86900000UL, 0x7f1a86a00000UL),
            ],
            found);
    }

    [Fact]
    public void PageOutFileMappings_OnThisProcess_AsksForItsOwnCodeAndLeavesItRunning()
    {
        var asked = StartupMemoryRelease.PageOutFileMappings(out var unsupported);

        // Every kernel this runs on in CI has MADV_PAGEOUT (5.4+); an older one says so instead of failing.
        if (!unsupported)
        {
            Assert.True(asked > 0);
        }

        // The process carries on: code and read-only data fault back in from their files.
        Assert.Equal("[1,2]", System.Text.Json.JsonSerializer.Serialize(new[] { 1, 2 }));
    }

    [Fact]
    public async Task Release_RunsOnceItsDelayHasPassed_AndLogsWhatItGaveBack()
    {
        var time = new FakeTimeProvider();
        var log = new CapturingLogger<StartupMemoryRelease>();
        using var release = new StartupMemoryRelease(log, time);

        // The delay's timer is on the fake clock from the call on: only the clock's own steps move it.
        var run = release.RunAsync(CancellationToken.None);
        time.Advance(StartupMemoryRelease.ReleaseDelay - TimeSpan.FromMilliseconds(1));
        Assert.False(run.IsCompleted);
        Assert.Empty(log.Entries);

        time.Advance(TimeSpan.FromMilliseconds(1));
        await run;
        var entry = Assert.Single(log.Entries, e => e.Level == LogLevel.Information);
        Assert.StartsWith("Start-up memory released: resident ", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Release_StoppedBeforeItsDelay_DoesNothing()
    {
        var time = new FakeTimeProvider();
        var log = new CapturingLogger<StartupMemoryRelease>();
        using var release = new StartupMemoryRelease(log, time);
        using var stop = new CancellationTokenSource();

        var run = release.RunAsync(stop.Token);
        await stop.CancelAsync();
        await run;

        time.Advance(StartupMemoryRelease.ReleaseDelay);
        Assert.Empty(log.Entries);
    }
}
