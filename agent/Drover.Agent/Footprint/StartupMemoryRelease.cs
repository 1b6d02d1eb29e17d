using System.Globalization;
using System.Runtime.InteropServices;

namespace Drover.Agent.Footprint;

/// <summary>
/// Gives back, once, what start-up used and the idle agent never touches again (issue 16's footprint).
/// An idle agent allocates little, so no full collection ever runs: the garbage of start-up (configuration,
/// certificates parsed, generic types built) stays in a gen-2 region for the life of the process. And the
/// pages of the executable and the libraries that only start-up ran stay mapped until the host runs short of
/// memory. <see cref="ReleaseDelay"/> after the host started, this runs a compacting collection that returns
/// free regions to the system, trims glibc's heap, and gives back the clean, read-only pages mapped from files:
/// the kernel reclaims those only this process maps (MADV_PAGEOUT, Linux 5.4 and later), the rest (pages of
/// the shared libraries that other processes map too) are unmapped here (MADV_DONTNEED, only where every page
/// of the mapping is still the file's), and the executable's pages that no process maps any more leave the
/// page cache (POSIX_FADV_DONTNEED). What the agent still runs faults back in as it runs: nothing is lost.
/// On kernels without MADV_PAGEOUT the page-out is skipped and said once at debug level.
/// The read-only mappings are also marked MADV_RANDOM, and the executable's cache is dropped, so that a page
/// the agent touches again is read alone: otherwise each fault reads around it and maps every cached page
/// within 64 KiB of it (the kernel's fault-around), and a collection that looks up a few frames' unwind
/// information brought 2.6 MiB of the tables back (issue 16). Linux 6.18 (at least) reads ahead in executable
/// mappings regardless, so the code still comes back 64 KiB at a time.
/// </summary>
internal sealed partial class StartupMemoryRelease(ILogger<StartupMemoryRelease> log, TimeProvider time) : BackgroundService
{
    /// <summary>Long enough for the link's first handshake, the first samples and the instances' restore.</summary>
    public static readonly TimeSpan ReleaseDelay = TimeSpan.FromSeconds(30);

    private const int MadvRandom = 1;
    private const int MadvDontNeed = 4;
    private const int MadvPageOut = 21;
    private const int FadvDontNeed = 4;
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
    /// libraries), then unmaps what it left: pages that other processes map too (the shared libraries'), which
    /// the page-out does not touch. Writable and anonymous mappings are left alone, and so is any read-only
    /// mapping with a private copy of a page (relocated data, a debugger's breakpoint), whose copy unmapping
    /// would lose. Returns how many mappings the page-out was asked for.
    /// </summary>
    internal static int PageOutFileMappings(out bool unsupported)
    {
        unsupported = false;
        var count = 0;
        // Not a device's memory (I/O or raw page-frame mappings, whose pages are the driver's to give).
        var mappings = ReadOnlyFileMappings(File.ReadLines("/proc/self/smaps"))
            .Where(m => !m.Special && !m.Path.StartsWith("/dev/", StringComparison.Ordinal))
            .ToList();
        foreach (var mapping in mappings)
        {
            // No read-around when a page of it faults in again (a hint: nothing to do if refused). The kernel
            // reads ahead in executable mappings all the same (seen on Linux 6.18), but not in the read-only data.
            _ = madvise((nint)mapping.Start, (nuint)mapping.Length, MadvRandom);
        }

        foreach (var mapping in mappings)
        {
            if (madvise((nint)mapping.Start, (nuint)mapping.Length, MadvPageOut) == 0)
            {
                count++;
            }
            else if (Marshal.GetLastPInvokeError() == EInvalid)
            {
                unsupported = true;
                break;
            }
        }

        foreach (var mapping in mappings)
        {
            // Every page of it is a clean copy of its file: unmapping it drops only this process's mapping,
            // and a touch maps the file's page again.
            if (mapping.AnonymousKiB == 0 && mapping.Private)
            {
                _ = madvise((nint)mapping.Start, (nuint)mapping.Length, MadvDontNeed);
            }
        }

        // The executable's cached pages that no process maps now, so that a page that faults in again comes
        // alone, without the cached pages within 64 KiB of it. The shared libraries' cache is other processes' too.
        var executable = Environment.ProcessPath;
        if (executable is not null && mappings.Exists(m => m.Path == executable))
        {
            DropCachedPages(executable);
        }

        return count;
    }

    private static void DropCachedPages(string path)
    {
        try
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
            _ = posix_fadvise((int)file.DangerousGetHandle(), 0, 0, FadvDontNeed);
        }
        catch (IOException)
        {
            // Not readable (moved, replaced by an upgrade): its cache stays.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>
    /// A read-only mapping of a file: its range, whether private, its private copies (-1: not known), and
    /// whether the kernel flags it as I/O memory or a page-frame or mixed mapping (a device's, not a file's pages).
    /// </summary>
    internal readonly record struct FileMapping(ulong Start, ulong End, string Path, bool Private, long AnonymousKiB, bool Special = false)
    {
        public ulong Length => End - Start;
    }

    /// <summary>
    /// The read-only mappings of files in /proc/self/maps or /proc/self/smaps. From smaps each carries its
    /// Anonymous: size (the pages of it that are private copies) and its VmFlags; from maps the size is not
    /// known (-1).
    /// </summary>
    internal static IEnumerable<FileMapping> ReadOnlyFileMappings(IEnumerable<string> maps)
    {
        FileMapping? pending = null;
        foreach (var line in maps)
        {
            if (line.StartsWith("Anonymous:", StringComparison.Ordinal))
            {
                if (pending is { } mapping
                    && long.TryParse(line.AsSpan(10).Trim().TrimEnd("kB").Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var anonymous))
                {
                    pending = mapping with { AnonymousKiB = anonymous };
                }

                continue;
            }

            if (line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                if (pending is { } mapping)
                {
                    var flags = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    pending = mapping with { Special = flags.Contains("io") || flags.Contains("pf") || flags.Contains("mm") };
                }

                continue;
            }

            // "start-end perms offset dev inode path"; the path is absent for anonymous mappings.
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            var dash = fields.Length > 0 ? fields[0].IndexOf('-') : -1;
            if (dash <= 0 || fields.Length < 5 || fields[1].Length != 4)
            {
                continue; // not a mapping's first line (one of smaps's other lines, or garbage)
            }

            if (pending is { } done)
            {
                yield return done;
                pending = null;
            }

            if (fields.Length < 6 || !fields[5].StartsWith('/') || fields[1][1] != '-'
                || !ulong.TryParse(fields[0].AsSpan(0, dash), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var start)
                || !ulong.TryParse(fields[0].AsSpan(dash + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var end)
                || end <= start)
            {
                continue;
            }

            pending = new FileMapping(start, end, fields[5].Trim(), fields[1][3] == 'p', -1);
        }

        if (pending is { } last)
        {
            yield return last;
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

    [LibraryImport("libc")]
    private static partial int posix_fadvise(int fd, long offset, long length, int advice);

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Start-up memory released: resident {BeforeMiB:F1} MiB -> {AfterMiB:F1} MiB ({Mappings} file mappings paged out).")]
    private static partial void LogReleased(ILogger logger, double beforeMiB, double afterMiB, int mappings);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "The kernel has no MADV_PAGEOUT (before Linux 5.4): start-up's code pages stay mapped until the host needs the memory.")]
    private static partial void LogPageOutUnsupported(ILogger logger);
}
