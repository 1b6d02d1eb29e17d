using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Drover.Agent.Instances;

/// <summary>
/// The few libc calls the supervisor needs that .NET does not expose: signals to a pid or a process
/// group, the status of a file without following a symbolic link, and the descriptor-relative calls that
/// <see cref="DirectoryHandle"/> walks a user's directory with.
/// </summary>
internal static partial class LibC
{
    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int SigCont = 18;
    public const int SigStop = 19;

    /// <summary>AT_FDCWD: a path relative to the working directory, as open(2) takes it.</summary>
    public const int AtCurrentDirectory = -100;

    public const int ENoEnt = 2;
    public const int ELoop = 40;

    private const int AtSymlinkNoFollow = 0x100;
    private const int AtRemoveDir = 0x200;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7FF;
    private const int FileTypeMask = 0xF000;

    private const int ONonBlock = 0x800;
    private const int ONoCtty = 0x100;
    private const int OCloExec = 0x80000;
    private const int OPath = 0x200000;

    // O_DIRECTORY and O_NOFOLLOW are the two open flags whose values differ between x86-64 and arm64.
    private static readonly int ODirectory = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x4000 : 0x10000;
    private static readonly int ONoFollow = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x8000 : 0x20000;

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenAt(int directoryFd, string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UnlinkAtRaw(int directoryFd, string path, int flags);

    [LibraryImport("libc", EntryPoint = "fchownat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FChownAt(int directoryFd, string path, uint uid, uint gid, int flags);

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
        => StatAt(AtCurrentDirectory, path, followLinks: false) is { } stat ? (stat.Kind, stat.Size) : null;

    /// <summary>The status of <paramref name="name"/> in the directory open as <paramref name="directoryFd"/>, or null when it cannot be read.</summary>
    public static FileStat? StatAt(int directoryFd, string name, bool followLinks)
        => StatX(directoryFd, name, followLinks ? 0 : AtSymlinkNoFollow, StatxBasicStats, out var buffer) == 0 ? buffer.ToStat() : null;

    /// <summary>The status of the file open as <paramref name="handle"/> (a symbolic link itself, when opened with O_PATH), or null.</summary>
    public static FileStat? StatOf(SafeFileHandle handle)
        => StatX((int)handle.DangerousGetHandle(), "", AtEmptyPath | AtSymlinkNoFollow, StatxBasicStats, out var buffer) == 0 ? buffer.ToStat() : null;

    /// <summary>openat(2) of a directory, never through a symbolic link: the handle, or the errno.</summary>
    public static (SafeFileHandle? Handle, int Error) OpenDirectory(int directoryFd, string name)
        => Opened(OpenAt(directoryFd, name, ODirectory | ONoFollow | OCloExec, 0));

    /// <summary>openat(2) for reading, never through a symbolic link and never blocking (a FIFO): the handle, or the errno.</summary>
    public static (SafeFileHandle? Handle, int Error) OpenFileNoFollow(int directoryFd, string name)
        => Opened(OpenAt(directoryFd, name, ONoFollow | ONonBlock | ONoCtty | OCloExec, 0));

    /// <summary>An O_PATH descriptor of <paramref name="name"/> itself (a link is not followed), or null when it is gone.</summary>
    public static SafeFileHandle? OpenPath(int directoryFd, string name)
        => Opened(OpenAt(directoryFd, name, OPath | ONoFollow | OCloExec, 0)).Handle;

    /// <summary>Gives the file open as <paramref name="handle"/> (O_PATH or not) to <paramref name="uid"/>:<paramref name="gid"/>; throws on failure.</summary>
    public static void ChangeOwner(SafeFileHandle handle, uint uid, uint gid)
    {
        if (FChownAt((int)handle.DangerousGetHandle(), "", uid, gid, AtEmptyPath | AtSymlinkNoFollow) != 0)
        {
            throw new IOException($"fchownat to {uid}:{gid} failed (errno {Marshal.GetLastPInvokeError()}).");
        }
    }

    /// <summary>unlinkat(2) of <paramref name="name"/> (rmdir when <paramref name="directory"/>); gone already is no error.</summary>
    public static void UnlinkAt(int directoryFd, string name, bool directory)
    {
        if (UnlinkAtRaw(directoryFd, name, directory ? AtRemoveDir : 0) != 0 && Marshal.GetLastPInvokeError() is var error && error != ENoEnt)
        {
            throw new IOException($"cannot remove '{name}' (errno {error}).");
        }
    }

    private static (SafeFileHandle? Handle, int Error) Opened(int fd)
        => fd >= 0 ? (new SafeFileHandle(fd, ownsHandle: true), 0) : (null, Marshal.GetLastPInvokeError());

    /// <summary>struct statx (linux/stat.h): 256 bytes, one layout on every architecture; only the fields read here are named.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    internal struct StatxBuffer
    {
        [FieldOffset(0)]
        public uint Mask;

        [FieldOffset(16)]
        public uint Links;

        [FieldOffset(20)]
        public uint Uid;

        [FieldOffset(24)]
        public uint Gid;

        [FieldOffset(28)]
        public ushort Mode;

        [FieldOffset(40)]
        public ulong Size;

        [FieldOffset(112)]
        public long ModifiedSeconds;

        [FieldOffset(120)]
        public uint ModifiedNanoseconds;

        public readonly FileStat ToStat()
        {
            var kind = (Mode & FileTypeMask) switch
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
            var modified = DateTimeOffset.FromUnixTimeSeconds(ModifiedSeconds).AddTicks(ModifiedNanoseconds / 100);
            return new FileStat(kind, (long)Size, Uid, Gid, Links, (UnixFileMode)(Mode & 0xFFF), modified);
        }
    }
}

/// <summary>What statx says of a file: its kind, size, owner, number of names, mode bits and modification time.</summary>
internal readonly record struct FileStat(FileKind Kind, long Size, uint Uid, uint Gid, uint Links, UnixFileMode Mode, DateTimeOffset ModifiedAt);
