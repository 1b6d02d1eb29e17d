using Microsoft.Win32.SafeHandles;

namespace Drover.Agent.Instances;

/// <summary>
/// A directory held open by descriptor, read and changed through that descriptor only, never through a path.
/// A state directory belongs to the instance's user, who may swap any entry in it for a symbolic link (or, where
/// the kernel allows, a hard link) while the agent, often root, walks it; a path walked again could then lead the
/// agent anywhere on the host. Through a descriptor, each step is relative to a directory already open, no link is
/// followed (<c>O_NOFOLLOW</c>), and what a file is, who owns it and how many names it has are read from the file
/// opened, not from a name looked up before.
/// </summary>
internal sealed class DirectoryHandle : IDisposable
{
    /// <summary>How deep a walk goes: deeper directories are left alone (a user could nest them without end).</summary>
    public const int MaxDepth = 128;

    private readonly SafeFileHandle _fd;

    private DirectoryHandle(SafeFileHandle fd)
    {
        _fd = fd;
    }

    /// <summary>
    /// Opens <paramref name="path"/> as a directory, or null when it does not exist; one that is a symbolic link is
    /// refused (IOException), since every caller's path is the agent's own.
    /// </summary>
    public static DirectoryHandle? Open(string path)
    {
        var fd = LibC.OpenDirectory(LibC.AtCurrentDirectory, path);
        if (fd.Error == LibC.ENoEnt)
        {
            return null;
        }

        return fd.Error == 0 ? new DirectoryHandle(fd.Handle!) : throw new IOException($"cannot open directory '{path}' (errno {fd.Error}).");
    }

    /// <summary>The names in the directory (no <c>.</c> or <c>..</c>), in ordinal order.</summary>
    public string[] Names()
    {
        // /proc/self/fd/N is the directory this descriptor holds, wherever it has been moved since.
        var self = $"/proc/self/fd/{Descriptor}";
        var names = Directory.GetFileSystemEntries(self).Select(Path.GetFileName).OfType<string>().ToArray();
        Array.Sort(names, StringComparer.Ordinal);
        return names;
    }

    /// <summary>What <paramref name="name"/> is now (a link is not followed), or null when it is gone.</summary>
    public FileStat? Stat(string name) => LibC.StatAt(Descriptor, name, followLinks: false);

    /// <summary>The subdirectory <paramref name="name"/>, or null when it is no longer a directory (gone, or swapped for a link or a file).</summary>
    public DirectoryHandle? OpenDirectory(string name)
    {
        var fd = LibC.OpenDirectory(Descriptor, name);
        return fd.Error == 0 ? new DirectoryHandle(fd.Handle!) : null;
    }

    /// <summary>
    /// Opens <paramref name="name"/> for reading when it is, once open, a regular file owned by <paramref name="owner"/>
    /// with the status read from it; otherwise null with why not (a link, a FIFO swapped in, another user's file).
    /// Opening never blocks (a FIFO) and never follows a link.
    /// </summary>
    public (FileStream? File, FileStat Stat, string? Refusal) OpenFile(string name, uint owner)
    {
        var fd = LibC.OpenFileNoFollow(Descriptor, name);
        if (fd.Error != 0)
        {
            return (null, default, fd.Error == LibC.ELoop ? "a symbolic link" : $"not readable (errno {fd.Error})");
        }

        var handle = fd.Handle!;
        if (LibC.StatOf(handle) is not { } stat || stat.Kind != FileKind.Regular)
        {
            handle.Dispose();
            return (null, default, "no longer a regular file");
        }

        if (stat.Uid != owner)
        {
            handle.Dispose();
            return (null, stat, $"owned by uid {stat.Uid}, not the instance's user (uid {owner})");
        }

        return (new FileStream(handle, FileAccess.Read), stat, null);
    }

    /// <summary>
    /// Gives the directory's whole content, then the directory itself, to <paramref name="uid"/>:<paramref name="gid"/>,
    /// deepest first, so that while the agent works in a directory it is still the agent's. Each entry is opened
    /// (<c>O_PATH|O_NOFOLLOW</c>) and changed through its descriptor: a symbolic link is left as it is, and a file with
    /// more than one name is left to its owner (a hard link to a file elsewhere must not be given away).
    /// </summary>
    public void GiveTo(uint uid, uint gid, int depth = 0)
    {
        foreach (var name in Names())
        {
            if (Stat(name) is { Kind: FileKind.Directory } && depth < MaxDepth)
            {
                using var child = OpenDirectory(name);
                child?.GiveTo(uid, gid, depth + 1);
                continue;
            }

            using var entry = LibC.OpenPath(Descriptor, name);
            if (entry is not null && LibC.StatOf(entry) is { } stat && stat.Kind != FileKind.SymbolicLink && stat.Links == 1)
            {
                Give(entry, stat, uid, gid);
            }
        }

        if (LibC.StatOf(_fd) is { } self)
        {
            Give(_fd, self, uid, gid);
        }
    }

    /// <summary>
    /// Removes <paramref name="name"/> and, when it is a directory, everything in it, through descriptors: a link is
    /// removed, never followed. Nothing there is no error. Whether it is a directory is what opening it as one says,
    /// so a directory swapped for a link or a file meanwhile is removed as what it has become.
    /// </summary>
    public void Delete(string name, int depth = 0)
    {
        using (var child = OpenDirectory(name))
        {
            if (child is null)
            {
                LibC.UnlinkAt(Descriptor, name, directory: false);
                return;
            }

            if (depth >= MaxDepth)
            {
                throw new IOException($"cannot remove '{name}': directories nested deeper than {MaxDepth} levels.");
            }

            foreach (var inner in child.Names())
            {
                child.Delete(inner, depth + 1);
            }
        }

        LibC.UnlinkAt(Descriptor, name, directory: true);
    }

    /// <summary>Removes the directory <paramref name="path"/> and everything in it (see <see cref="Delete(string, int)"/>).</summary>
    public static void DeleteTree(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        using var parent = Open(Path.GetDirectoryName(full)!);
        parent?.Delete(Path.GetFileName(full));
    }

    public void Dispose() => _fd.Dispose();

    private int Descriptor => (int)_fd.DangerousGetHandle();

    private static void Give(SafeFileHandle entry, FileStat stat, uint uid, uint gid)
    {
        if (stat.Uid != uid || stat.Gid != gid)
        {
            LibC.ChangeOwner(entry, uid, gid);
        }
    }
}
