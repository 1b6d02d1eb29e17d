using System.Globalization;

namespace Drover.Agent.Instances;

/// <summary>Reads /proc: whether a pid is still the process the agent started (pids are reused).</summary>
internal static class ProcessInfo
{
    /// <summary>The process's start time in clock ticks since boot (field 22 of /proc/pid/stat), or null when it is gone.</summary>
    public static long? StartTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            // The command name (field 2) is in parentheses and may hold spaces: count fields after its ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields.Length > 19 && fields[0] != "Z" && long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks))
            {
                return ticks;
            }

            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Whether <paramref name="pid"/> is alive and is the process that started at <paramref name="startTime"/>.</summary>
    public static bool IsSame(int pid, long startTime) => pid > 0 && StartTime(pid) == startTime;
}
