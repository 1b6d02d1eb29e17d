namespace Drover.Agent.Instances;

/// <summary>
/// How an instance defined with <c>gpuProbe</c> runs under the CUDA launch probe: <c>LD_PRELOAD</c> names the probe
/// (before any library the instance's own environment preloads), and <c>DROVER_GPU_PROBE_DIR</c> the instance's
/// folder under <see cref="Root"/>, where each of its processes that uses CUDA maps its page
/// (<c>native/include/drover_probe_page.h</c>). The folder is the instance user's (0700), in a root others may pass
/// through but not list (0711); the agent reads it through descriptors (<see cref="Telemetry.MeasuredGpuWork"/>).
/// </summary>
internal sealed class GpuProbeInjection(string libraryPath, string root)
{
    /// <summary>The variable that tells the probe where its page goes.</summary>
    public const string DirectoryVariable = "DROVER_GPU_PROBE_DIR";

    public string LibraryPath { get; } = libraryPath;

    public string Root { get; } = root;

    /// <summary>Whether the probe is installed where the agent was told; checked at every start, so one installed later is used.</summary>
    public bool Installed => File.Exists(LibraryPath);

    public string DirectoryOf(string instanceId) => Path.Combine(Root, instanceId);

    /// <summary>
    /// Creates the instance's folder (kept across its restarts: the pages of processes gone are the agent's to drop),
    /// given to <paramref name="user"/> when it runs as one.
    /// </summary>
    public void Prepare(string instanceId, RuntimeUser? user)
    {
        Directory.CreateDirectory(Root);
        File.SetUnixFileMode(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var folder = DirectoryOf(instanceId);
        Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using var handle = DirectoryHandle.Open(folder) ?? throw new IOException($"'{folder}' vanished as it was created.");
        if (user is not null)
        {
            handle.GiveTo(user.Uid, user.Gid);
        }
    }

    /// <summary>Sets the probe's variables in an instance's <paramref name="environment"/>.</summary>
    public void Apply(IDictionary<string, string> environment, string instanceId)
    {
        environment["LD_PRELOAD"] = environment.TryGetValue("LD_PRELOAD", out var preloaded) && preloaded.Length > 0
            ? $"{LibraryPath}:{preloaded}"
            : LibraryPath;
        environment[DirectoryVariable] = DirectoryOf(instanceId);
    }

    /// <summary>Removes the instance's folder and the pages left in it, through descriptors (the folder is its user's).</summary>
    public void Remove(string instanceId)
    {
        try
        {
            DirectoryHandle.DeleteTree(DirectoryOf(instanceId));
        }
        catch (IOException)
        {
            // Left for the next start of the same instance, which reuses it.
        }
    }
}
