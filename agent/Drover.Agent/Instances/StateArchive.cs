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
    /// is over <paramref name="maxBytes"/>, and the entries a snapshot leaves out. <paramref name="owner"/>
    /// is the uid the instance runs as: a file of any other owner is left out (see <see cref="Walk"/>).
    /// </summary>
    public static StateSurvey Survey(string stateDirectory, long maxBytes, uint owner)
    {
        var least = 2L * Block;
        var skipped = new List<SkippedEntry>();
        foreach (var entry in Walk(stateDirectory, owner))
        {
            if (entry.Skip is { } why)
            {
                skipped.Add(new SkippedEntry(entry.Name, why));
                continue;
            }

            least += BlocksFor(entry.Stat.Kind, entry.Stat.Size);
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
    /// not fsynced: it is read back at once, and a crash loses only an uncommitted snapshot. Each file is
    /// read through a descriptor opened without following a link and checked once open (a regular file of
    /// <paramref name="owner"/>), so a name swapped meanwhile for a link or another user's file is left out.
    /// </summary>
    public static bool Write(string stateDirectory, string archivePath, uint owner, long maxBytes = long.MaxValue)
    {
        Directory.CreateDirectory(stateDirectory);
        using var output = new FileStream(archivePath, FileMode.Create, FileAccess.Write, FileShare.None);
        using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        foreach (var entry in Walk(stateDirectory, owner))
        {
            if (entry.Skip is not null)
            {
                continue;
            }

            if (entry.Stat.Kind == FileKind.Directory)
            {
                writer.WriteEntry(Header(TarEntryType.Directory, entry.Name, entry.Stat));
                continue;
            }

            var (file, stat, refusal) = entry.Parent.OpenFile(entry.LocalName, owner);
            using (file)
            {
                if (refusal is not null)
                {
                    continue;
                }

                if (output.Position + BlocksFor(FileKind.Regular, stat.Size) + (2L * Block) > maxBytes)
                {
                    return false;
                }

                var header = Header(TarEntryType.RegularFile, entry.Name, stat);
                header.DataStream = file;
                writer.WriteEntry(header);
            }
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
    /// swapped. <paramref name="owner"/>, when given, is given every restored entry once the whole snapshot
    /// is in place, deepest first: while the agent writes, every directory it writes in is still its own,
    /// so no process of that user can slip a link under it.
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
            Extract(archivePath, fresh);

            // The state directory itself is the owner's too (the snapshot holds only what is in it):
            // an instance running as its own user must write where it was restored.
            if (owner is { } o)
            {
                using var restored = DirectoryHandle.Open(fresh) ?? throw new IOException($"'{fresh}' vanished during the restore.");
                restored.GiveTo(o.Uid, o.Gid);
            }
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

    private static void Extract(string archivePath, string target)
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

                continue;
            }

            CreateParents(root, Path.GetDirectoryName(path)!);
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
        }
    }

    private static void CreateParents(string root, string directory)
    {
        if (directory == root || Directory.Exists(directory))
        {
            return;
        }

        CreateParents(root, Path.GetDirectoryName(directory)!);
        Directory.CreateDirectory(directory, DirectoryMode);
    }

    /// <summary>
    /// A header with the entry's mode and modification time and nothing that changes while the file does not
    /// (no access or change time, no owner names), so an unchanged state archives to the same bytes.
    /// </summary>
    private static PaxTarEntry Header(TarEntryType type, string name, FileStat stat)
        => new(type, name)
        {
            Mode = stat.Mode & PermissionBits,
            ModificationTime = stat.ModifiedAt,
        };

    private static long BlocksFor(FileKind kind, long size) => Block + (kind == FileKind.Regular ? (size + Block - 1) / Block * Block : 0);

    /// <summary>
    /// Every entry under <paramref name="root"/>, through descriptors (<see cref="DirectoryHandle"/>): a directory's
    /// entries in ordinal order, then each subdirectory's (the same directory gives the same archive, so an
    /// unchanged state is seen unchanged). Links are not followed. An entry removed meanwhile is passed over; one a
    /// snapshot cannot carry comes with why: not a regular file or directory, a file <paramref name="owner"/> does
    /// not own (a hard link to another user's file, say), or a directory nested deeper than
    /// <see cref="DirectoryHandle.MaxDepth"/>.
    /// </summary>
    private static IEnumerable<Entry> Walk(string root, uint owner)
    {
        using var top = DirectoryHandle.Open(root);
        if (top is null)
        {
            yield break;
        }

        foreach (var entry in WalkIn(top, "", owner, 0))
        {
            yield return entry;
        }
    }

    private static IEnumerable<Entry> WalkIn(DirectoryHandle directory, string prefix, uint owner, int depth)
    {
        var subdirectories = new List<string>();
        foreach (var name in directory.Names())
        {
            if (directory.Stat(name) is not { } stat)
            {
                continue;
            }

            var path = prefix + name;
            var skip = stat.Kind switch
            {
                FileKind.Directory when depth >= DirectoryHandle.MaxDepth => $"a directory nested deeper than {DirectoryHandle.MaxDepth} levels",
                FileKind.Directory => null,
                FileKind.Regular when stat.Uid != owner => $"a file owned by uid {stat.Uid}, not the instance's user (uid {owner})",
                FileKind.Regular => null,
                _ => $"{Describe(stat.Kind)}, which a snapshot cannot carry",
            };
            if (stat.Kind == FileKind.Directory && skip is null)
            {
                yield return new Entry(directory, name, path + "/", stat, null);
                subdirectories.Add(name);
            }
            else
            {
                yield return new Entry(directory, name, path, stat, skip);
            }
        }

        foreach (var name in subdirectories)
        {
            using var child = directory.OpenDirectory(name);
            if (child is null)
            {
                continue; // swapped for something else meanwhile
            }

            foreach (var entry in WalkIn(child, prefix + name + "/", owner, depth + 1))
            {
                yield return entry;
            }
        }
    }

    private static string Describe(FileKind kind) => kind switch
    {
        FileKind.SymbolicLink => "a symbolic link",
        FileKind.Socket => "a socket",
        FileKind.Fifo => "a FIFO",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        _ => "neither a file nor a directory",
    };

    private static void DeleteIfExists(string directory) => DirectoryHandle.DeleteTree(directory);

    /// <summary>An entry found by <see cref="Walk"/>: the directory it is in, its name there, its name in the archive, and why it is left out, if it is.</summary>
    private readonly record struct Entry(DirectoryHandle Parent, string LocalName, string Name, FileStat Stat, string? Skip);
}
