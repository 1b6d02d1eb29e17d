using Drover.Agent.Instances;

namespace Drover.Agent.Tests.Instances;

public sealed class StateArchiveTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("drover-archive-").FullName;

    private static (long Size, string Sha256) Create(string source, string archive)
    {
        StateArchive.Write(source, archive);
        return StateArchive.Measure(archive);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void CreateThenRestore_RoundTripsFilesAndReplacesOldState()
    {
        var source = Path.Combine(_root, "source");
        Directory.CreateDirectory(Path.Combine(source, "sub"));
        File.WriteAllText(Path.Combine(source, "count"), "41");
        File.WriteAllText(Path.Combine(source, "sub", "model.bin"), "weights");
        var archive = Path.Combine(_root, "snapshot.tar");

        var (size, sha) = Create(source, archive);

        var target = Path.Combine(_root, "target");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "stale"), "old");
        StateArchive.Restore(archive, target);
        Assert.Equal("41", File.ReadAllText(Path.Combine(target, "count")));
        Assert.Equal("weights", File.ReadAllText(Path.Combine(target, "sub", "model.bin")));
        Assert.False(File.Exists(Path.Combine(target, "stale")));
        Assert.Equal(new FileInfo(archive).Length, size);
        Assert.Matches("^[0-9a-f]{64}$", sha);
    }

    [Fact]
    public void Create_Unchanged_GivesTheSameChecksum()
    {
        var source = Path.Combine(_root, "source");
        Directory.CreateDirectory(source);
        File.WriteAllText(Path.Combine(source, "count"), "1");

        var first = Create(source, Path.Combine(_root, "a.tar"));
        var second = Create(source, Path.Combine(_root, "b.tar"));
        File.WriteAllText(Path.Combine(source, "count"), "2");
        var changed = Create(source, Path.Combine(_root, "c.tar"));

        Assert.Equal(first.Sha256, second.Sha256);
        Assert.NotEqual(first.Sha256, changed.Sha256);
    }

    [Fact]
    public void Restore_CorruptArchive_LeavesOldStateUntouched()
    {
        var target = Path.Combine(_root, "target");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "count"), "7");
        var archive = Path.Combine(_root, "bad.tar");
        File.WriteAllBytes(archive, Enumerable.Repeat((byte)0x41, 1000).ToArray());

        Assert.ThrowsAny<Exception>(() => StateArchive.Restore(archive, target));

        Assert.Equal("7", File.ReadAllText(Path.Combine(target, "count")));
    }
}
