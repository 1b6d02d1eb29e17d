using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Drover.FleetSim;

/// <summary>A process's CPU time (user + system) and resident memory, as the kernel accounts them in /proc.</summary>
internal static class ProcStat
{
    /// <summary>CPU time <paramref name="process"/> (null: this one) has used; zero once it has ended.</summary>
    public static TimeSpan CpuTime(Process? process) => Read(process, p => p.TotalProcessorTime, TimeSpan.Zero);

    /// <summary>The resident memory (VmRSS) of <paramref name="process"/> (null: this one) in bytes; zero once it has ended.</summary>
    public static long ResidentBytes(Process? process) => Read(process, p => p.WorkingSet64, 0L);

    private static T Read<T>(Process? process, Func<Process, T> read, T ended)
    {
        try
        {
            var target = process ?? Process.GetCurrentProcess();
            target.Refresh();
            return read(target);
        }
        catch (InvalidOperationException)
        {
            return ended;
        }
    }
}

/// <summary>The signals the simulator sends that .NET has no call for.</summary>
internal static partial class Posix
{
    /// <summary>SIGTERM to <paramref name="pid"/>: the aggregator's orderly stop, as systemctl stop sends it.</summary>
    public static void Terminate(int pid) => _ = kill(pid, 15);

    /// <summary>SIGINT to <paramref name="pid"/>: PostgreSQL's fast shutdown.</summary>
    public static void Interrupt(int pid) => _ = kill(pid, 2);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
