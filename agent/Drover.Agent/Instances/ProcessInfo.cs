using System.Globalization;

namespace Drover.Agent.Instances;

/// <summary>Reads /proc: whether a pid is still the process the agent started (pids are reused), and its process group.</summary>
internal static class ProcessInfo
{
    /// <summary>The process's start time in clock ticks since boot (field 22 of /proc/pid/stat), or null when it is gone.</summary>
    public static long? StartTime(int pid) => Field(pid, 19);

    /// <summary>The process's group (field 5 of /proc/pid/stat), or null when it is gone.</summary>
    public static int? ProcessGroup(int pid) => Field(pid, 2) is { } group ? (int)group : null;

    /// <summary>Whether <paramref name="pid"/> is alive and is the process that started at <paramref name="startTime"/>.</summary>
    public static bool IsSame(int pid, long startTime) => pid > 0 && StartTime(pid) == startTime;

    /// <summary>
    /// Whether any process of group <paramref name="pgid"/> is alive. Zombies do not count: an orphan
    /// waits for whoever reaps it (a container's init may never), but it runs nothing and holds nothing.
    /// </summary>
    public static bool GroupHasLiveMembers(int pgid)
    {
        if (pgid <= 0)
        {
            return false;
        }

        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && ProcessGroup(pid) == pgid)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Field <paramref name="index"/> after the command name of /proc/pid/stat (0 is the state), or null when the process is gone or a zombie.</summary>
    private static long? Field(int pid, int index)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            // The command name (field 2) is in parentheses and may hold spaces: count fields after its ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields.Length > index && fields[0] != "Z" && long.TryParse(fields[index], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }

            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
