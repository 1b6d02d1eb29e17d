using System.Diagnostics;
using System.Formats.Tar;
using Drover.Agent.Instances;

namespace Drover.Agent.Tests.Instances;

/// <summary>
/// What an instance's user can leave in its own state directory for the agent (root, as a rule) to trip over: symbolic
/// links to files and directories elsewhere, a hard link to another user's file, a name swapped for a link or a FIFO
/// while the agent walks. The agent gives, commits, restores and deletes through descriptors, and nothing outside the
/// state directory is given away, read or removed.
/// </summary>
[Trait("Category", "Attacks")]
public sealed class StateDirectoryAttackTests : IDisposable
{
    private const uint Nobody = 65534;

    private readonly string _root = Directory.CreateTempSubdirectory("drover-state-attack-").FullName;

    public void Dispose()
    {
        File.SetUnixFileMode(_root, (UnixFileMode)0x1C0);
        Directory.Delete(_root, recursive: true);
    }

    private string Outside => Path.Combine(_root, "outside");

    private static uint OwnerOf(string path) => LibC.StatAt(LibC.AtCurrentDirectory, path, followLinks: false)!.Value.Uid;

    /// <summary>A root-only file outside every state directory: what an attacker wants given, read or removed.</summary>
    private string Secret()
    {
        Directory.CreateDirectory(Outside);
        var secret = Path.Combine(Outside, "secret");
        File.WriteAllText(secret, "root-only");
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return secret;
    }

    private static void HardLink(string target, string link)
    {
        using var ln = Process.Start("ln", [target, link]);
        ln.WaitForExit();
        Assert.Equal(0, ln.ExitCode);
    }

    [Drover.Testing.RootFact]
    public void Create_StateHoldsLinksToAFileElsewhere_OnlyTheStateIsGivenToTheUser()
    {
        var secret = Secret();
        var directory = new InstanceDirectory(Path.Combine(_root, "instances"), "i1");
        Directory.CreateDirectory(Path.Combine(directory.StatePath, "sub"));
        File.WriteAllText(Path.Combine(directory.StatePath, "count"), "7");
        File.WriteAllText(Path.Combine(directory.StatePath, "sub", "model"), "w");
        File.CreateSymbolicLink(Path.Combine(directory.StatePath, "link"), secret);
        HardLink(secret, Path.Combine(directory.StatePath, "sub", "hard"));

        directory.Create(new RuntimeUser("nobody", Nobody, Nobody));

        Assert.Equal(0U, OwnerOf(secret));
        Assert.Equal(Nobody, OwnerOf(directory.StatePath));
        Assert.Equal(Nobody, OwnerOf(Path.Combine(directory.StatePath, "count")));
        Assert.Equal(Nobody, OwnerOf(Path.Combine(directory.StatePath, "sub")));
        Assert.Equal(Nobody, OwnerOf(Path.Combine(directory.StatePath, "sub", "model")));
    }

    [Drover.Testing.RootFact]
    public void SurveyAndWrite_LinksToAnotherUsersFile_LeftOutNamedAndNeverRead()
    {
        var secret = Secret();
        var state = Path.Combine(_root, "state");
        Directory.CreateDirectory(state);
        File.WriteAllText(Path.Combine(state, "count"), "7");
        LibC.ChangeOwner(Path.Combine(state, "count"), Nobody, Nobody);
        File.CreateSymbolicLink(Path.Combine(state, "link"), secret);
        HardLink(secret, Path.Combine(state, "stolen"));
        var archive = Path.Combine(_root, "snapshot.tar");

        var survey = StateArchive.Survey(state, long.MaxValue, Nobody);
        var fits = StateArchive.Write(state, archive, Nobody);

        Assert.Equal(
            [new SkippedEntry("link", "a symbolic link, which a snapshot cannot carry"), new SkippedEntry("stolen", "a file owned by uid 0, not the instance's user (uid 65534)")],
            survey.Skipped);
        Assert.True(fits);
        Assert.Equal(["count"], StateArchiveTests.EntryNames(archive));
        Assert.DoesNotContain("root-only", File.ReadAllText(archive), StringComparison.Ordinal);
    }

    [Fact]
    public void DirectoryHandle_NamesSwappedWhileOpen_NoLinkFollowedNoFifoBlocks()
    {
        Directory.CreateDirectory(Outside);
        File.WriteAllText(Path.Combine(Outside, "a"), "outside");
        var state = Path.Combine(_root, "state");
        Directory.CreateDirectory(Path.Combine(state, "sub"));
        File.WriteAllText(Path.Combine(state, "sub", "a"), "inside");
        using var handle = DirectoryHandle.Open(state)!;
        using var sub = handle.OpenDirectory("sub")!;

        // The user moves the directory away and puts a link to another directory in its place, and a FIFO where a
        // file was.
        Directory.Move(Path.Combine(state, "sub"), Path.Combine(state, "moved"));
        File.CreateSymbolicLink(Path.Combine(state, "sub"), Outside);
        StateArchiveTests.MakeFifo(Path.Combine(state, "pipe"));

        Assert.Null(handle.OpenDirectory("sub"));
        Assert.Equal("a symbolic link", handle.OpenFile("sub", LibC.EffectiveUserId).Refusal);
        Assert.Equal("no longer a regular file", handle.OpenFile("pipe", LibC.EffectiveUserId).Refusal);
        Assert.Equal(["a"], sub.Names());
        var (file, _, refusal) = sub.OpenFile("a", LibC.EffectiveUserId);
        Assert.Null(refusal);
        using (var reader = new StreamReader(file!))
        {
            Assert.Equal("inside", reader.ReadToEnd());
        }
    }

    [Fact]
    public void Delete_StateHoldsLinksToADirectoryElsewhere_LinksRemovedTargetsKept()
    {
        Directory.CreateDirectory(Outside);
        File.WriteAllText(Path.Combine(Outside, "keep"), "outside");
        var directory = new InstanceDirectory(Path.Combine(_root, "instances"), "i1");
        directory.Create();
        Directory.CreateDirectory(Path.Combine(directory.StatePath, "sub", "deeper"));
        File.WriteAllText(Path.Combine(directory.StatePath, "sub", "deeper", "x"), "x");
        File.CreateSymbolicLink(Path.Combine(directory.StatePath, "escape"), Outside);
        File.CreateSymbolicLink(Path.Combine(directory.StatePath, "sub", "file"), Path.Combine(Outside, "keep"));

        directory.Delete();

        Assert.False(Directory.Exists(directory.Root));
        Assert.Equal("outside", File.ReadAllText(Path.Combine(Outside, "keep")));
    }

    [Drover.Testing.RootFact]
    public void Restore_WithOwner_EveryRestoredEntryIsTheUsers()
    {
        var archive = Path.Combine(_root, "snapshot.tar");
        using (var stream = File.Create(archive))
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "sub/") { Mode = (UnixFileMode)0x1C0 });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "sub/deeper/x") { DataStream = new MemoryStream([1, 2, 3]) });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "count") { DataStream = new MemoryStream([7]) });
        }

        var state = Path.Combine(_root, "state");
        StateArchive.Restore(archive, state, (Nobody, Nobody));

        Assert.All(
            new[] { state, Path.Combine(state, "sub"), Path.Combine(state, "sub", "deeper"), Path.Combine(state, "sub", "deeper", "x"), Path.Combine(state, "count") },
            path => Assert.Equal(Nobody, OwnerOf(path)));
    }
}
