using System.Formats.Tar;
using System.Security.Cryptography;

namespace Drover.Agent.Instances;

/// <summary>
/// Snapshots of a state directory as tar archives: surveyed first (size, files that cannot be
/// archived), taken to a temporary file within a size limit, restored into a fresh directory.
/// Only regular files and directories are archived: sockets, FIFOs and device nodes hold no data a
/// snapshot could carry, and symbolic links are left out because a restore refuses them (a link
/// planted in a snapshot could point anywhere on the node). A restore is as strict: see
/// <see cref="Restore"/>.
/// </summary>
internal static class StateArchive
{
    private const int Block = 512;

    /// <summary>
    /// Walks the directory without reading any file: the least an archive of it takes (a header and
    /// the data, in 512-byte blocks, per entry, and the two closing blocks), stopping as soon as that
    /// is over <paramref name="maxBytes"/>, and the entries a snapshot leaves out.
    /// </summary>
    public static StateSurvey Survey(string stateDirectory, long maxBytes)
    {
        var least = 2L * Block;
        var skipped = new List<SkippedEntry>();
        foreach (var entry in Walk(stateDirectory))
        {
            if (!IsArchived(entry.Kind))
            {
                skipped.Add(new SkippedEntry(entry.Name, entry.Kind));
                continue;
            }

            least += BlocksFor(entry);
            if (least > maxBytes)
            {
                return new StateSurvey(least, OverLimit: true, skipped);
            }
        }

        return new StateSurvey(least, OverLimit: false, skipped);
    }

    /// <summary>
    /// Writes the archive and nothing else: the part that must see the directory still, kept short
    /// because the instance's processes are frozen meanwhile, and bounded by <paramref name="maxBytes"/>:
    /// false, with the archive incomplete, as soon as it would grow past that. The temporary file is
    /// not fsynced: it is read back at once, and a crash loses only an uncommitted snapshot.
    /// </summary>
    public static bool Write(string stateDirectory, string archivePath, long maxBytes = long.MaxValue)
    {
        Directory.CreateDirectory(stateDirectory);
        using var output = new FileStream(archivePath, FileMode.Create, FileAccess.Write, FileShare.None);
        using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        foreach (var entry in Walk(stateDirectory))
        {
            if (!IsArchived(entry.Kind))
            {
                continue;
            }

            if (output.Position + BlocksFor(entry) + (2L * Block) > maxBytes)
            {
                return false;
            }

            writer.WriteEntry(entry.Path, entry.Name);
        }

        writer.Dispose();
        return output.Position <= maxBytes;
    }

    /// <summary>An archive's size and SHA-256 (lowercase hex).</summary>
    public static (long Size, string Sha256) Measure(string archivePath)
    {
        using var input = File.OpenRead(archivePath);
        return (input.Length, Convert.ToHexStringLower(SHA256.HashData(input)));
    }

    /// <summary>Permission bits a restored entry keeps: rwx for owner, group and others; never setuid, setgid or sticky.</summary>
    private const UnixFileMode PermissionBits = (UnixFileMode)0x1FF;

    /// <summary>The mode of a state directory itself: its owner's only.</summary>
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// Replaces <paramref name="stateDirectory"/> with the archive's content: extracted beside it first,
    /// then swapped in, so a failed extraction leaves the old state untouched. The archive comes from
    /// the aggregator and is trusted no further than a peer: only regular files and directories are
    /// restored, with their permission bits but never setuid, setgid or sticky; a symbolic or hard
    /// link, a device node, a FIFO, any other entry type, an absolute name or one with a <c>..</c>
    /// segment refuses the whole snapshot (InvalidDataException naming the entry), before anything is
    /// swapped. <paramref name="owner"/>, when given, is given every restored entry.
    /// </summary>
    public static void Restore(string archivePath, string stateDirectory, (uint Uid, uint Gid)? owner = null)
    {
        var fresh = stateDirectory + ".restore";
        var old = stateDirectory + ".old";
        FinishSwap(stateDirectory);
        DeleteIfExists(fresh);
        DeleteIfExists(old);
        Directory.CreateDirectory(fresh, DirectoryMode);
        try
        {
            // The state directory itself is the owner's too (the snapshot holds only what is in it):
            // an instance running as its own user must write where it was restored.
            Own(fresh, owner);
            Extract(archivePath, fresh, owner);
        }
        catch
        {
            DeleteIfExists(fresh);
            throw;
        }

        if (Directory.Exists(stateDirectory))
        {
            Directory.Move(stateDirectory, old);
        }

        Directory.Move(fresh, stateDirectory);
        DeleteIfExists(old);
    }

    /// <summary>
    /// Completes a <see cref="Restore"/> that a SIGKILL cut short, so the state directory holds the old
    /// state or the whole new one, never neither. The new state is extracted whole into <c>.restore</c>
    /// before the swap's first move (the state directory to <c>.old</c>); so a missing state directory
    /// with <c>.restore</c> beside it means the new state is whole and goes into place, and with
    /// <c>.old</c> alone the old state goes back. What is left beside a state directory is removed.
    /// </summary>
    public static void FinishSwap(string stateDirectory)
    {
        var fresh = stateDirectory + ".restore";
        var old = stateDirectory + ".old";
        if (!Directory.Exists(stateDirectory) && Directory.Exists(old))
        {
            Directory.Move(Directory.Exists(fresh) ? fresh : old, stateDirectory);
        }

        if (Directory.Exists(stateDirectory))
        {
            DeleteIfExists(fresh);
            DeleteIfExists(old);
        }
    }

    /// <summary>Null when <paramref name="name"/> is acceptable as a snapshot entry's name, else why not.</summary>
    public static string? CheckEntryName(string name)
    {
        if (name.Length == 0)
        {
            return "an empty name";
        }

        if (name[0] == '/')
        {
            return "an absolute path";
        }

        if (name.Contains('\0', StringComparison.Ordinal))
        {
            return "a NUL character in its name";
        }

        return name.Split('/').Contains("..", StringComparer.Ordinal) ? "a .. segment (it would escape the state directory)" : null;
    }

    private static void Extract(string archivePath, string target, (uint Uid, uint Gid)? owner)
    {
        var root = Path.GetFullPath(target);
        using var input = File.OpenRead(archivePath);
        using var reader = new TarReader(input);
        while (reader.GetNextEntry() is { } entry)
        {
            if (entry.EntryType == TarEntryType.GlobalExtendedAttributes)
            {
                continue;
            }

            var name = entry.Name;
            var refusal = CheckEntryName(name) ?? entry.EntryType switch
            {
                TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile or TarEntryType.Directory => null,
                TarEntryType.SymbolicLink => $"a symbolic link (to '{entry.LinkName}')",
                TarEntryType.HardLink => $"a hard link (to '{entry.LinkName}')",
                TarEntryType.CharacterDevice => "a character device node",
                TarEntryType.BlockDevice => "a block device node",
                TarEntryType.Fifo => "a FIFO",
                _ => $"an entry of type {entry.EntryType}",
            };
            var path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(Path.Combine(root, name)));
            if (refusal is null && path != root && !path.StartsWith(root + "/", StringComparison.Ordinal))
            {
                refusal = "a path outside the state directory";
            }

            if (refusal is not null)
            {
                throw new InvalidDataException($"the snapshot's entry '{name}' is {refusal}; only regular files and directories inside the state directory are restored");
            }

            var mode = (UnixFileMode)entry.Mode & PermissionBits;
            if (entry.EntryType == TarEntryType.Directory)
            {
                // The owner must keep reaching and changing what it owns.
                Directory.CreateDirectory(path, mode | DirectoryMode);
                if (path != root)
                {
                    File.SetUnixFileMode(path, mode | DirectoryMode);
                }

                Own(path, owner);
                continue;
            }

            CreateParents(root, Path.GetDirectoryName(path)!, owner);
            // CreateNew: an entry named twice is refused by the file system rather than overwriting the first.
            using (var output = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                UnixCreateMode = mode | UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
            {
                entry.DataStream?.CopyTo(output);
            }

            Own(path, owner);
        }
    }

    private static void CreateParents(string root, string directory, (uint Uid, uint Gid)? owner)
    {
        if (directory == root || Directory.Exists(directory))
        {
            return;
        }

        CreateParents(root, Path.GetDirectoryName(directory)!, owner);
        Directory.CreateDirectory(directory, DirectoryMode);
        Own(directory, owner);
    }

    private static void Own(string path, (uint Uid, uint Gid)? owner)
    {
        if (owner is { } o)
        {
            LibC.ChangeOwner(path, o.Uid, o.Gid);
        }
    }

    private static bool IsArchived(FileKind kind) => kind is FileKind.Regular or FileKind.Directory;

    private static long BlocksFor(Entry entry) => Block + (entry.Kind == FileKind.Regular ? (entry.Size + Block - 1) / Block * Block : 0);

    /// <summary>
    /// Every entry under <paramref name="root"/>, depth first in ordinal order (the same directory
    /// gives the same archive, so an unchanged state is seen unchanged); links are not followed. An
    /// entry removed meanwhile is passed over.
    /// </summary>
    private static IEnumerable<Entry> Walk(string root)
    {
        var pending = new Stack<(string Path, string Name)>();
        pending.Push((root, ""));
        while (pending.Count > 0)
        {
            var (directory, prefix) = pending.Pop();
            string[] children;
            try
            {
                children = Directory.GetFileSystemEntries(directory);
            }
            catch (DirectoryNotFoundException)
            {
                continue;
            }

            Array.Sort(children, StringComparer.Ordinal);
            var subdirectories = new List<(string Path, string Name)>();
            foreach (var child in children)
            {
                if (LibC.FileStatus(child) is not var (kind, size))
                {
                    continue;
                }

                var name = prefix + Path.GetFileName(child);
                if (kind == FileKind.Directory)
                {
                    yield return new Entry(child, name + "/", kind, 0);
                    subdirectories.Add((child, name + "/"));
                }
                else
                {
                    yield return new Entry(child, name, kind, size);
                }
            }

            // Pushed in reverse so they are walked in order.
            for (var i = subdirectories.Count - 1; i >= 0; i--)
            {
                pending.Push(subdirectories[i]);
            }
        }
    }

    private static void DeleteIfExists(string directory)
    {
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private readonly record struct Entry(string Path, string Name, FileKind Kind, long Size);
}
