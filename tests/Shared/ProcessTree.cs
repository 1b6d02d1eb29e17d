using System.Diagnostics;

namespace Drover.Testing;

/// <summary>Stopping a process a test started, with whatever it started in turn.</summary>
internal static class ProcessTree
{
    /// <summary>SIGKILLs <paramref name="process"/> and its descendants unless it has exited, and waits (10 s at most) for it to end.</summary>
    public static async Task KillAsync(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Never started, or disposed already: nothing to stop.
        }
    }
}
