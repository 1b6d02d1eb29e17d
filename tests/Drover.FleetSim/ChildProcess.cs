using System.Diagnostics;

namespace Drover.FleetSim;

/// <summary>What the simulator does with the processes it starts (the aggregators, PostgreSQL).</summary>
internal static class ChildProcess
{
    /// <summary>SIGKILL, with nothing said when the process has ended already.</summary>
    public static void KillQuietly(Process process)
    {
        try
        {
            process.Kill();
        }
        catch (InvalidOperationException)
        {
            // Already ended.
        }
    }

    /// <summary>Appends every line <paramref name="reader"/> gives (a redirected output) to the file <paramref name="path"/>, until it ends.</summary>
    public static async Task DrainAsync(StreamReader reader, string path)
    {
        await using var file = new StreamWriter(path, append: true);
        while (await reader.ReadLineAsync() is { } line)
        {
            await file.WriteLineAsync(line);
        }
    }
}
