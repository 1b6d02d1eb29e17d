using System.Globalization;
using System.Runtime.InteropServices;

namespace Drover.Agent.Footprint;

/// <summary>
/// Gives back, once, what start-up used and the idle agent never touches again (issue 16's footprint).
/// An idle agent allocates little, so no full collection ever runs: the garbage of start-up (configuration,
/// certificates parsed, generic types built) stays in a gen-2 region for the life of the process. And the
/// pages of the executable that only start-up ran stay mapped until the host runs short of memory.
/// <see cref="ReleaseDelay"/> after the host started, this runs a compacting collection that returns free
/// regions to the system, trims glibc's heap, and asks the kernel (MADV_PAGEOUT, Linux 5.4 and later) to
/// reclaim the clean, read-only pages mapped from files; what the agent still runs faults back in as it runs.
/// Nothing is lost: the pages are clean copies of files, reread when needed. On kernels without
/// MADV_PAGEOUT the third step is skipped and said once at debug level.
/// </summary>
internal sealed partial class StartupMemoryRelease(ILogger<StartupMemoryRelease> log, TimeProvider time) : BackgroundService
{
    /// <summary>Long enough for the link's first handshake, the first samples and the instances' restore.</summary>
    public static readonly TimeSpan ReleaseDelay = TimeSpan.FromSeconds(30);

    private const int MadvPageOut = 21;
    private const int EInvalid = 22;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => RunAsync(stoppingToken);

    /// <summary>Waits <see cref="ReleaseDelay"/> on the clock, then releases once; nothing when stopped first.</summary>
    internal async Task RunAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(ReleaseDelay, time, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        var before = ResidentKiB();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        TrimNativeHeap();
        var pagedOut = PageOutFileMappings(out var unsupported);
        if (unsupported)
        {
            LogPageOutUnsupported(log);
        }

        LogReleased(log, before / 1024.0, ResidentKiB() / 1024.0, pagedOut);
    }

    /// <summary>
    /// Asks the kernel to reclaim the pages of every read-only mapping of a file (the executable, the shared
    /// libraries). Writable and anonymous mappings are left alone. Returns how many mappings it was asked for.
    /// </summary>
    internal static int PageOutFileMappings(out bool unsupported)
    {
        unsupported = false;
        var count = 0;
        foreach (var mapping in ReadOnlyFileMappings(File.ReadLines("/proc/self/maps")))
        {
            if (madvise((nint)mapping.Start, (nuint)(mapping.End - mapping.Start), MadvPageOut) == 0)
            {
                count++;
            }
            else if (Marshal.GetLastPInvokeError() == EInvalid)
            {
                unsupported = true;
                break;
            }
        }

        return count;
    }

    /// <summary>The lines of /proc/self/maps that map a file read-only: start, end (exclusive).</summary>
    internal static IEnumerable<(ulong Start, ulong End)> ReadOnlyFileMappings(IEnumerable<string> maps)
    {
        foreach (var line in maps)
        {
            // "start-end perms offset dev inode path"; the path is absent for anonymous mappings.
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 6 || !fields[5].StartsWith('/') || fields[1].Length < 2 || fields[1][1] != '-')
            {
                continue;
            }

            var dash = fields[0].IndexOf('-');
            if (dash < 0
                || !ulong.TryParse(fields[0].AsSpan(0, dash), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var start)
                || !ulong.TryParse(fields[0].AsSpan(dash + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var end)
                || end <= start)
            {
                continue;
            }

            yield return (start, end);
        }
    }

    private static void TrimNativeHeap()
    {
        try
        {
            malloc_trim(0);
        }
        catch (EntryPointNotFoundException)
        {
            // Not glibc: nothing to trim this way.
        }
    }

    private static long ResidentKiB()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int madvise(nint address, nuint length, int advice);

    [LibraryImport("libc")]
    private static partial int malloc_trim(nuint pad);

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Start-up memory released: resident {BeforeMiB:F1} MiB -> {AfterMiB:F1} MiB ({Mappings} file mappings paged out).")]
    private static partial void LogReleased(ILogger logger, double beforeMiB, double afterMiB, int mappings);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "The kernel has no MADV_PAGEOUT (before Linux 5.4): start-up's code pages stay mapped until the host needs the memory.")]
    private static partial void LogPageOutUnsupported(ILogger logger);
}
