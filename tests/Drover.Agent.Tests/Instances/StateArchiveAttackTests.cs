using System.Formats.Tar;
using Drover.Agent.Instances;

namespace Drover.Agent.Tests.Instances;

/// <summary>
/// Snapshots an impostor could plant: each is refused whole, naming the entry, with the old state
/// untouched and nothing written outside the state directory.
/// </summary>
[Trait("Category", "Attacks")]
public sealed class StateArchiveAttackTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("drover-restore-attack-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Target => Path.Combine(_root, "instance", "state");

    private string Outside => Path.Combine(_root, "outside");

    /// <summary>The bad entry of each case, built with TarWriter, and the entry name the refusal names.</summary>
    public static TheoryData<string> Cases => new() { "symlink", "hardlink", "chardevice", "blockdevice", "fifo", "absolute", "dotdot", "nested-dotdot" };

    private TarEntry BadEntry(string kind) => kind switch
    {
        "symlink" => new PaxTarEntry(TarEntryType.SymbolicLink, "escape") { LinkName = Outside },
        "hardlink" => new PaxTarEntry(TarEntryType.HardLink, "passwd") { LinkName = "/etc/passwd" },
        "chardevice" => new PaxTarEntry(TarEntryType.CharacterDevice, "mem") { DeviceMajor = 1, DeviceMinor = 1 },
        "blockdevice" => new PaxTarEntry(TarEntryType.BlockDevice, "disk") { DeviceMajor = 8, DeviceMinor = 0 },
        "fifo" => new PaxTarEntry(TarEntryType.Fifo, "pipe"),
        "absolute" => File(Path.Combine(Outside, "absolute")),
        "dotdot" => File("../../outside/dotdot"),
        "nested-dotdot" => File("sub/../../../outside/nested"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static PaxTarEntry File(string name, string content = "planted", UnixFileMode mode = (UnixFileMode)0x1A4)
        => new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(content)), Mode = mode };

    private string Archive(params TarEntry[] entries)
    {
        var path = Path.Combine(_root, $"{Guid.NewGuid():N}.tar");
        using var stream = System.IO.File.Create(path);
        using var writer = new TarWriter(stream, TarEntryFormat.Pax);
        foreach (var entry in entries)
        {
            writer.WriteEntry(entry);
        }

        return path;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Restore_PlantedEntry_RefusedNamingItOldStateUntouchedNothingOutside(string kind)
    {
        Directory.CreateDirectory(Target);
        Directory.CreateDirectory(Outside);
        System.IO.File.WriteAllText(Path.Combine(Target, "count"), "7");
        var bad = BadEntry(kind);
        var archive = Archive(File("fresh", "new"), bad);

        var ex = Assert.Throws<InvalidDataException>(() => StateArchive.Restore(archive, Target));

        Assert.Contains($"entry '{bad.Name}'", ex.Message, StringComparison.Ordinal);
        Assert.Equal("7", System.IO.File.ReadAllText(Path.Combine(Target, "count")));
        Assert.False(System.IO.File.Exists(Path.Combine(Target, "fresh")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Outside));
        Assert.False(Directory.Exists(Target + ".restore"));
        Assert.Equal(["state"], Directory.EnumerateFileSystemEntries(Path.Combine(_root, "instance")).Select(Path.GetFileName));
    }

    [Fact]
    public void Restore_SetuidAndSetgidFiles_RestoredWithoutThoseBits()
    {
        var archive = Archive(
            new PaxTarEntry(TarEntryType.Directory, "bin/") { Mode = (UnixFileMode)0xFFF },
            File("bin/tool", "x", (UnixFileMode)0xDED),
            File("plain", "y", (UnixFileMode)0x1A4));

        StateArchive.Restore(archive, Target);

        Assert.Equal((UnixFileMode)0x1ED, System.IO.File.GetUnixFileMode(Path.Combine(Target, "bin", "tool")));
        Assert.Equal((UnixFileMode)0x1FF, System.IO.File.GetUnixFileMode(Path.Combine(Target, "bin")));
        Assert.Equal((UnixFileMode)0x1A4, System.IO.File.GetUnixFileMode(Path.Combine(Target, "plain")));
        Assert.Equal(StateArchive.DirectoryMode, System.IO.File.GetUnixFileMode(Target));
    }

    [Fact]
    public void Restore_EntryNamedTwice_Refused()
    {
        Directory.CreateDirectory(Target);
        System.IO.File.WriteAllText(Path.Combine(Target, "count"), "7");
        var archive = Archive(File("count", "1"), File("count", "2"));

        Assert.ThrowsAny<IOException>(() => StateArchive.Restore(archive, Target));

        Assert.Equal("7", System.IO.File.ReadAllText(Path.Combine(Target, "count")));
    }

    public static TheoryData<string, string?> Names => new()
    {
        // entry name  →  null when acceptable, else part of the reason
        { "count", null },
        { "sub/model.bin", null },
        { "sub/", null },
        { "./count", null },
        { "a..b", null },
        { "..hidden", null },
        { "", "an empty name" },
        { "/etc/passwd", "an absolute path" },
        { "..", "a .. segment" },
        { "../x", "a .. segment" },
        { "sub/../x", "a .. segment" },
        { "sub/..", "a .. segment" },
        { "x\0y", "NUL" },
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void CheckEntryName_Table(string name, string? reason)
    {
        var result = StateArchive.CheckEntryName(name);

        if (reason is null)
        {
            Assert.Null(result);
        }
        else
        {
            Assert.Contains(reason, result, StringComparison.Ordinal);
        }
    }
}
