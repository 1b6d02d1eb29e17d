using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Drover.Agent.Instances;

namespace Drover.Agent.Tests.Instances;

public sealed class LibCTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("drover-libc-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void StatxBuffer_Size_MatchesTheKernelStruct()
    {
        // struct statx in linux/stat.h is 0x100 bytes.
        Assert.Equal(256, Unsafe.SizeOf<LibC.StatxBuffer>());
    }

    [Fact]
    public void FileStatus_RegularFile_GivesItsKindAndLength()
    {
        var path = Path.Combine(_root, "data");
        File.WriteAllBytes(path, new byte[12_345]);

        Assert.Equal((FileKind.Regular, 12_345L), LibC.FileStatus(path));
    }

    [Fact]
    public void FileStatus_DirectoryLinkAndSocket_GivesEachKindWithoutFollowingTheLink()
    {
        var directory = Directory.CreateDirectory(Path.Combine(_root, "dir")).FullName;
        var link = Path.Combine(_root, "link");
        File.CreateSymbolicLink(link, directory);
        var socketPath = Path.Combine(_root, "sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));

        Assert.Equal(FileKind.Directory, LibC.FileStatus(directory)?.Kind);
        Assert.Equal(FileKind.SymbolicLink, LibC.FileStatus(link)?.Kind);
        Assert.Equal(FileKind.Socket, LibC.FileStatus(socketPath)?.Kind);
        Assert.Null(LibC.FileStatus(Path.Combine(_root, "missing")));
    }
}
