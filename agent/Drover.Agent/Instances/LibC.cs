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
