using System.Text.Json;
using Drover.Protocol.V1;
using Google.Protobuf;

namespace Drover.Agent.Instances;

/// <summary>
/// One instance's folder under <c>&lt;stateDirectory&gt;/instances/&lt;id&gt;/</c>: its local state
/// (<c>state/</c>, given to the process as DROVER_STATE_DIR), its spec, what the agent needs to adopt
/// the process after a restart, its output log, and staged snapshots. Files are written atomically
/// (temporary file, flush, rename): a crash never leaves half a spec.
/// </summary>
internal sealed class InstanceDirectory
{
    private static readonly JsonFormatter SpecFormatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));
    private static readonly JsonParser SpecParser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    public InstanceDirectory(string instancesRoot, string instanceId)
    {
        InstanceId = instanceId;
        Root = Path.Combine(instancesRoot, instanceId);
    }

    public string InstanceId { get; }

    public string Root { get; }

    public string StatePath => Path.Combine(Root, "state");

    public string OutputLog => Path.Combine(Root, "output.log");

    public string StagingPath => Path.Combine(Root, "staging");

    private string SpecPath => Path.Combine(Root, "instance.json");

    private string RuntimePath => Path.Combine(Root, "runtime.json");

    public bool Exists => File.Exists(SpecPath);

    /// <summary>
    /// Creates the folder, or makes an existing one private again (finishing a restore cut short, see
    /// <see cref="StateArchive.FinishSwap"/>): the instance's folder, its state
    /// and its staged snapshots are the agent's only (0700). With <paramref name="user"/>, the
    /// instance's process runs as that user: its state directory (and everything in it) is given to
    /// the user, and the instance's folder lets the user's group pass through (0710), not list it.
    /// </summary>
    public void Create(RuntimeUser? user = null)
    {
        Private(Root, user is null ? OwnerOnly : OwnerOnly | UnixFileMode.GroupExecute);

        // A restore an earlier agent was killed in the middle of: finished before an empty state
        // directory could take the missing one's place.
        StateArchive.FinishSwap(StatePath);
        if (user is not null)
        {
            LibC.ChangeOwner(Root, LibC.EffectiveUserId, user.Gid);
        }

        Private(StatePath, OwnerOnly);
        Private(StagingPath, OwnerOnly);
        if (user is not null)
        {
            // Through descriptors, never a path: the state directory is the user's, who may have left links in it.
            using var state = DirectoryHandle.Open(StatePath)!;
            state.GiveTo(user.Uid, user.Gid);
        }
    }

    /// <summary>The folder holding staged snapshots, created private (0700) if need be.</summary>
    public string CreateStaging()
    {
        if (!Directory.Exists(Root))
        {
            Private(Root, OwnerOnly);
        }

        Private(StagingPath, OwnerOnly);
        return StagingPath;
    }

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private static void Private(string directory, UnixFileMode mode)
    {
        Directory.CreateDirectory(directory, mode);
        File.SetUnixFileMode(directory, mode);
    }

    /// <summary>Owner-only: the spec's environment may hold the function's secrets.</summary>
    public void WriteSpec(InstanceSpec spec) => WriteAtomically(SpecPath, SpecFormatter.Format(spec), ownerOnly: true);

    public InstanceSpec ReadSpec() => SpecParser.Parse<InstanceSpec>(File.ReadAllText(SpecPath));

    public void WriteRuntime(InstanceRuntime runtime) => WriteAtomically(RuntimePath, JsonSerializer.Serialize(runtime, InstanceRuntimeJsonContext.Default.InstanceRuntime), ownerOnly: true);

    public InstanceRuntime? ReadRuntime()
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(RuntimePath), InstanceRuntimeJsonContext.Default.InstanceRuntime);
        }
        catch (Exception ex) when (ex is IOException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Forgets the instance (no spec, nothing to adopt) but keeps its state for a later start with the same id.</summary>
    public void Forget()
    {
        File.Delete(SpecPath);
        File.Delete(RuntimePath);
    }

    /// <summary>Removes staged snapshots (restores that were received but never used, or cut off).</summary>
    public void ClearStaging()
    {
        if (Directory.Exists(StagingPath))
        {
            foreach (var file in Directory.EnumerateFiles(StagingPath))
            {
                File.Delete(file);
            }
        }
    }

    /// <summary>Removes the instance's folder, state included, through descriptors (<see cref="DirectoryHandle.Delete"/>): a link the user left in the state is removed, never followed.</summary>
    public void Delete() => DirectoryHandle.DeleteTree(Root);

    private static void WriteAtomically(string path, string content, bool ownerOnly = false)
    {
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            if (ownerOnly)
            {
                File.SetUnixFileMode(stream.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            using var writer = new StreamWriter(stream);
            writer.Write(content);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }
}

/// <summary>
/// What the agent keeps about a running instance so that a restarted agent can adopt the process:
/// its pid and start time (pids are reused), its port, its local-socket token, and its state version.
/// </summary>
internal sealed record InstanceRuntime(
    int Pid,
    long StartTime,
    int Port,
    string Token,
    int Restarts,
    ulong StateVersion,
    string StateSha256);

/// <summary>
/// runtime.json's (de)serialization, generated at build time (no reflection: the agent can be compiled ahead of time).
/// Property names as the reflection-based serializer wrote them (PascalCase), so files an older agent left are read.
/// </summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(InstanceRuntime))]
internal sealed partial class InstanceRuntimeJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
