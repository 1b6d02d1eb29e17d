using System.Formats.Tar;
using System.Security.Cryptography;

namespace Drover.Agent.Instances;

/// <summary>
/// Snapshots of a state directory as tar archives: surveyed first (size, files that cannot be
/// archived), taken to a temporary file within a size limit, restored into a fresh directory.
/// Sockets, FIFOs and device nodes are left out: they hold no data a snapshot could carry, a socket
/// cannot be archived at all, and an unprivileged agent could not create a device node on restore.
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

    /// <summary>
    /// Replaces <paramref name="stateDirectory"/> with the archive's content: extracted beside it first,
    /// then swapped in, so a failed extraction leaves the old state untouched.
    /// </summary>
    public static void Restore(string archivePath, string stateDirectory)
    {
        var fresh = stateDirectory + ".restore";
        var old = stateDirectory + ".old";
        DeleteIfExists(fresh);
        DeleteIfExists(old);
        Directory.CreateDirectory(fresh);
        TarFile.ExtractToDirectory(archivePath, fresh, overwriteFiles: false);
        if (Directory.Exists(stateDirectory))
        {
            Directory.Move(stateDirectory, old);
        }

        Directory.Move(fresh, stateDirectory);
        DeleteIfExists(old);
    }

    private static bool IsArchived(FileKind kind) => kind is FileKind.Regular or FileKind.Directory or FileKind.SymbolicLink;

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
