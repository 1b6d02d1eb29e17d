using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Drover.FleetSim;

/// <summary>A process's CPU time (user + system) and resident memory, as the kernel accounts them in /proc.</summary>
internal static class ProcStat
{
    /// <summary>CPU time <paramref name="process"/> (null: this one) has used; zero once it has ended.</summary>
    public static TimeSpan CpuTime(Process? process)
    {
        try
        {
            var target = process ?? Process.GetCurrentProcess();
            target.Refresh();
            return target.TotalProcessorTime;
        }
        catch (InvalidOperationException)
        {
            return TimeSpan.Zero;
        }
    }

    /// <summary>The resident memory (VmRSS) of <paramref name="process"/> (null: this one) in bytes; zero once it has ended.</summary>
    public static long ResidentBytes(Process? process)
    {
        try
        {
            var target = process ?? Process.GetCurrentProcess();
            target.Refresh();
            return target.WorkingSet64;
        }
        catch (InvalidOperationException)
        {
            return 0;
        }
    }
}

/// <summary>The one signal the simulator sends that .NET has no call for.</summary>
internal static partial class Posix
{
    /// <summary>SIGTERM to <paramref name="pid"/>: the aggregator's orderly stop, as systemctl stop sends it.</summary>
    public static void Terminate(int pid) => _ = kill(pid, 15);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
