using System.Runtime.InteropServices;

namespace Drover.Agent.Instances;

/// <summary>The few libc calls the supervisor needs that .NET does not expose: signals to a pid.</summary>
internal static partial class LibC
{
    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int SigCont = 18;
    public const int SigStop = 19;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when the process is gone.</summary>
    public static bool Signal(int pid, int signal) => pid > 0 && Kill(pid, signal) == 0;
}
