using System.Runtime.InteropServices;

namespace Drover.Agent.Instances;

/// <summary>
/// The few libc calls the supervisor needs that .NET does not expose: signals to a pid or a process
/// group, and the type and size of a file without following a symbolic link.
/// </summary>
internal static partial class LibC
{
    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int SigCont = 18;
    public const int SigStop = 19;

    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const uint StatxSize = 0x200;
    private const int FileTypeMask = 0xF000;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    // statx rather than lstat: struct statx has one layout on every architecture, struct stat does not.
    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatX(int directoryFd, string path, int flags, uint mask, out StatxBuffer buffer);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEUid();

    [LibraryImport("libc", EntryPoint = "getpwnam", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetPwNam(string name);

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint RealPath(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(nint pointer);

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Chown(string path, uint uid, uint gid);

    /// <summary>Whether this process runs as root (effective uid 0).</summary>
    public static bool IsRoot => GetEUid() == 0;

    /// <summary>The effective uid of this process.</summary>
    public static uint EffectiveUserId => GetEUid();

    /// <summary>
    /// The uid and primary gid of user <paramref name="name"/> (through NSS, as login does), or null when
    /// there is no such user. struct passwd starts with two pointers, then pw_uid and pw_gid, on every
    /// 64-bit Linux ABI.
    /// </summary>
    public static (uint Uid, uint Gid)? LookUpUser(string name)
    {
        var entry = GetPwNam(name);
        if (entry == 0)
        {
            return null;
        }

        return ((uint)Marshal.ReadInt32(entry, 2 * IntPtr.Size), (uint)Marshal.ReadInt32(entry, (2 * IntPtr.Size) + 4));
    }

    /// <summary>
    /// realpath(3): <paramref name="path"/> made absolute with every symbolic link, <c>.</c> and <c>..</c>
    /// resolved, or null when it (or a directory on the way) does not exist or cannot be read.
    /// </summary>
    public static string? ResolvePath(string path)
    {
        var resolved = RealPath(path, 0);
        if (resolved == 0)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            Free(resolved);
        }
    }

    /// <summary>Gives <paramref name="path"/> to <paramref name="uid"/>:<paramref name="gid"/> (a link is followed); throws on failure.</summary>
    public static void ChangeOwner(string path, uint uid, uint gid)
    {
        if (Chown(path, uid, gid) != 0)
        {
            throw new IOException($"chown '{path}' to {uid}:{gid} failed (errno {Marshal.GetLastPInvokeError()}).");
        }
    }

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when the process is gone.</summary>
    public static bool Signal(int pid, int signal) => pid > 0 && Kill(pid, signal) == 0;

    /// <summary>Sends <paramref name="signal"/> to every process of group <paramref name="pgid"/>; false when the group is empty.</summary>
    public static bool SignalGroup(int pgid, int signal) => pgid > 0 && Kill(-pgid, signal) == 0;

    /// <summary>The type and size of <paramref name="path"/> itself (a link is not followed), or null when it cannot be read.</summary>
    public static (FileKind Kind, long Size)? FileStatus(string path)
    {
        if (StatX(AtFdCwd, path, AtSymlinkNoFollow, StatxType | StatxSize, out var buffer) != 0)
        {
            return null;
        }

        var kind = (buffer.Mode & FileTypeMask) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0xA000 => FileKind.SymbolicLink,
            0xC000 => FileKind.Socket,
            0x1000 => FileKind.Fifo,
            0x2000 => FileKind.CharacterDevice,
            0x6000 => FileKind.BlockDevice,
            _ => FileKind.Other,
        };
        return (kind, (long)buffer.Size);
    }

    /// <summary>struct statx (linux/stat.h): 256 bytes; only the fields read here are named.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    internal struct StatxBuffer
    {
        [FieldOffset(0)]
        public uint Mask;

        [FieldOffset(28)]
        public ushort Mode;

        [FieldOffset(40)]
        public ulong Size;
    }
}
