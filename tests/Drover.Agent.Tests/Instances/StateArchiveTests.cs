using System.Diagnostics;
using System.Formats.Tar;
using System.Net.Sockets;
using Drover.Agent.Instances;

namespace Drover.Agent.Tests.Instances;

public sealed class StateArchiveTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("drover-archive-").FullName;

    /// <summary>The owner of what these tests write, so of the states they archive.</summary>
    private static uint Me => LibC.EffectiveUserId;

    private static (long Size, string Sha256) Create(string source, string archive)
    {
        StateArchive.Write(source, archive, Me);
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

    /// <summary>
    /// Restored for an instance that runs as its own user: the state directory itself is that user's,
    /// not only what is in it, or the instance could not write where it was restored (a resumed
    /// counter running as nobody failed every request).
    /// </summary>
    [RootFact]
    public void Restore_WithOwner_StateDirectoryAndEverythingInItAreTheOwners()
    {
        var source = Path.Combine(_root, "source");
        Directory.CreateDirectory(Path.Combine(source, "sub"));
        File.WriteAllText(Path.Combine(source, "count"), "41");
        File.WriteAllText(Path.Combine(source, "sub", "model.bin"), "weights");
        var archive = Path.Combine(_root, "snapshot.tar");
        Create(source, archive);
        var nobody = LibC.LookUpUser("nobody")!.Value;

        var target = Path.Combine(_root, "target");
        StateArchive.Restore(archive, target, (nobody.Uid, nobody.Gid));

        foreach (var path in new[] { target, Path.Combine(target, "count"), Path.Combine(target, "sub"), Path.Combine(target, "sub", "model.bin") })
        {
            Assert.Equal($"{nobody.Uid}:{nobody.Gid}", Owner(path));
        }
    }

    /// <summary>uid:gid of <paramref name="path"/> (stat(1): .NET has no managed call for a file's owner).</summary>
    private static string Owner(string path)
    {
        using var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%u:%g", path]) { RedirectStandardOutput = true })!;
        var owner = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        return owner;
    }

    /// <summary>
    /// An agent SIGKILLed at each point of a restore's swap: the next one finds the old state or the
    /// whole new one in place, never an empty directory, and nothing left beside it.
    /// </summary>
    [Theory]
    [InlineData("extracting", "old")]          // .restore partly written, state untouched
    [InlineData("state moved aside", "new")]  // state -> .old done, .restore (whole) not yet moved
    [InlineData("new in place", "new")]       // .restore -> state done, .old not yet deleted
    public void InstanceDirectoryCreate_AfterAKillDuringRestore_HoldsOldOrWholeNewState(string killedAt, string expected)
    {
        var directory = new InstanceDirectory(_root, "counter-1");
        directory.Create();
        var state = directory.StatePath;
        switch (killedAt)
        {
            case "extracting":
                File.WriteAllText(Path.Combine(state, "count"), "old");
                Directory.CreateDirectory(state + ".restore");
                File.WriteAllText(Path.Combine(state + ".restore", "count"), "ne"); // cut off
                break;
            case "state moved aside":
                File.WriteAllText(Path.Combine(state, "count"), "old");
                Directory.Move(state, state + ".old");
                Directory.CreateDirectory(state + ".restore");
                File.WriteAllText(Path.Combine(state + ".restore", "count"), "new");
                break;
            default:
                File.WriteAllText(Path.Combine(state, "count"), "new");
                Directory.CreateDirectory(state + ".old");
                File.WriteAllText(Path.Combine(state + ".old", "count"), "old");
                break;
        }

        directory.Create();

        Assert.Equal(expected, File.ReadAllText(Path.Combine(state, "count")));
        Assert.False(Directory.Exists(state + ".restore"));
        Assert.False(Directory.Exists(state + ".old"));
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

    [Fact]
    public void Write_SocketAndFifoInState_LeavesThemOutAndArchivesTheRest()
    {
        var source = Path.Combine(_root, "source");
        Directory.CreateDirectory(Path.Combine(source, "sub"));
        File.WriteAllText(Path.Combine(source, "count"), "41");
        File.WriteAllText(Path.Combine(source, "sub", "model.bin"), "weights");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(Path.Combine(source, "sub", "app.sock")));
        MakeFifo(Path.Combine(source, "pipe"));
        var archive = Path.Combine(_root, "snapshot.tar");

        var survey = StateArchive.Survey(source, long.MaxValue, Me);
        var fits = StateArchive.Write(source, archive, Me);

        Assert.True(fits);
        Assert.False(survey.OverLimit);
        Assert.Equal(
            [new SkippedEntry("pipe", "a FIFO, which a snapshot cannot carry"), new SkippedEntry("sub/app.sock", "a socket, which a snapshot cannot carry")],
            survey.Skipped.OrderBy(s => s.Name, StringComparer.Ordinal));
        Assert.Equal(["count", "sub/", "sub/model.bin"], EntryNames(archive));
    }

    [Fact]
    public void Survey_DirectoryOverTheLimit_IsOverLimitWithoutReadingIt()
    {
        var source = Path.Combine(_root, "source");
        Directory.CreateDirectory(source);
        using (var big = File.Create(Path.Combine(source, "big")))
        {
            big.SetLength(3 * 1024 * 1024); // Sparse: no data written, yet it counts as its length.
        }

        var survey = StateArchive.Survey(source, 2 * 1024 * 1024, Me);

        Assert.True(survey.OverLimit);
        Assert.True(survey.LeastBytes > 2 * 1024 * 1024);
    }

    [Fact]
    public void Survey_DirectoryUnderTheLimit_GivesALowerBoundOfTheArchive()
    {
        var source = Path.Combine(_root, "source");
        Directory.CreateDirectory(source);
        File.WriteAllBytes(Path.Combine(source, "a"), new byte[1000]);
        File.WriteAllBytes(Path.Combine(source, "b"), new byte[10]);
        var archive = Path.Combine(_root, "snapshot.tar");

        var survey = StateArchive.Survey(source, 1024 * 1024, Me);
        StateArchive.Write(source, archive, Me);

        Assert.False(survey.OverLimit);
        Assert.Equal(512 + 1024 + 512 + 512 + 1024, survey.LeastBytes);
        Assert.True(new FileInfo(archive).Length >= survey.LeastBytes);
    }

    [Fact]
    public void Write_ArchiveWouldPassTheLimit_StopsAndReturnsFalse()
    {
        var source = Path.Combine(_root, "source");
        Directory.CreateDirectory(source);
        File.WriteAllBytes(Path.Combine(source, "a"), new byte[600 * 1024]);
        File.WriteAllBytes(Path.Combine(source, "b"), new byte[600 * 1024]);
        var archive = Path.Combine(_root, "snapshot.tar");

        var fits = StateArchive.Write(source, archive, Me, 1024 * 1024);

        Assert.False(fits);
        Assert.True(new FileInfo(archive).Length <= 1024 * 1024);
    }

    internal static void MakeFifo(string path)
    {
        using var mkfifo = Process.Start("mkfifo", [path]);
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
    }

    internal static List<string> EntryNames(string archive)
    {
        using var input = File.OpenRead(archive);
        using var reader = new TarReader(input);
        var names = new List<string>();
        while (reader.GetNextEntry() is { } entry)
        {
            names.Add(entry.Name);
        }

        return names;
    }
}
