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
                new(0x55e2381ae000UL, 0x55e2381cd000UL, "/usr/bin/drover-agent", true, -1),
                new(0x55e2381cd000UL, 0x55e238aad000UL, "/usr/bin/drover-agent", true, -1),
                new(0x7f1a86700000UL, 0x7f1a86800000UL, "/usr/lib/x86_64-linux-gnu/libc.so.6", true, -1),
                new(0x7f1a86900000UL, 0x7f1a86a00000UL, "/tmp/a file with spaces.so", true, -1),
            ],
            found);
    }

    [Fact]
    public void ReadOnlyFileMappings_FromSmaps_CarriesEachMappingsPrivateCopies()
    {
        string[] smaps =
        [
            "7f1a86600000-7f1a86700000 r--p 00000000 fe:00 1234                       /usr/lib/x86_64-linux-gnu/libc.so.6",
            "Size:               1024 kB",
            "Rss:                 152 kB",
            "Anonymous:             0 kB",
            "AnonHugePages:         0 kB",
            "VmFlags: rd mr mw me sd",
            "7f1a86700000-7f1a86800000 r-xp 00028000 fe:00 1234                       /usr/lib/x86_64-linux-gnu/libc.so.6",
            "Anonymous:             0 kB",
            "7f1a86800000-7f1a86804000 r--p 001fe000 fe:00 1234                       /usr/lib/x86_64-linux-gnu/libc.so.6",
            "Rss:                  16 kB",
            "Anonymous:            16 kB",
            "7f1a86804000-7f1a86806000 rw-p 00202000 fe:00 1234                       /usr/lib/x86_64-linux-gnu/libc.so.6",
            "Anonymous:             8 kB",
            "7f1a86900000-7f1a86a00000 r--s 00000000 fe:00 99                         /dev/shm/shared",
            "Anonymous:             0 kB",
            "VmFlags: rd mr mw me",
            "7f1a86a01000-7f1a86a02000 r--p 00000000 00:05 97                         /dev/some-device",
            "Anonymous:             0 kB",
            "VmFlags: rd sh mr mw me io pf dd",
            "7f1a86a02000-7f1a86a03000 r--p 00000000 fe:00 98                         /usr/lib/last.so",
        ];

        var found = StartupMemoryRelease.ReadOnlyFileMappings(smaps).ToArray();

        Assert.Equal(
            [
                new(0x7f1a86600000UL, 0x7f1a86700000UL, "/usr/lib/x86_64-linux-gnu/libc.so.6", true, 0),
                new(0x7f1a86700000UL, 0x7f1a86800000UL, "/usr/lib/x86_64-linux-gnu/libc.so.6", true, 0),
                new(0x7f1a86800000UL, 0x7f1a86804000UL, "/usr/lib/x86_64-linux-gnu/libc.so.6", true, 16),
                new(0x7f1a86900000UL, 0x7f1a86a00000UL, "/dev/shm/shared", false, 0),
                new(0x7f1a86a01000UL, 0x7f1a86a02000UL, "/dev/some-device", true, 0, Special: true),
                new(0x7f1a86a02000UL, 0x7f1a86a03000UL, "/usr/lib/last.so", true, -1),
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
