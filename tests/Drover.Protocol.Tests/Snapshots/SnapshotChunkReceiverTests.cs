using System.Security.Cryptography;
using Drover.Protocol.Snapshots;

namespace Drover.Protocol.Tests.Snapshots;

public sealed class SnapshotChunkReceiverTests
{
    private const long Max = 1000;
    private const string Meaning = "the largest snapshot of this test";

    // The archive of the Check table: 10 bytes in 3 chunks of 4, 4 and 2.
    private static readonly byte[] Archive = [.. Enumerable.Range(0, 10).Select(i => (byte)i)];
    private static readonly string ArchiveSha = Sha(Archive);

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>The SHA-256 a row names: that of the archive, the same in upper case, or another archive's.</summary>
    private static string Declared(string which, byte[] archive) => which switch
    {
        "archive" => Sha(archive),
        "upper" => Sha(archive).ToUpperInvariant(),
        "other" => Sha([.. archive, 0xFF]),
        _ => which,
    };

    [Theory]
    // case                                        index count size sha        data  expected field
    [InlineData("first chunk", 0, 3, 10, "archive", 4, null)]
    [InlineData("last chunk", 2, 3, 10, "archive", 2, null)]
    [InlineData("empty archive in one chunk", 0, 1, 0, "archive", 0, null)]
    [InlineData("archive of the largest size", 0, 1, Max, "archive", 1000, null)]
    [InlineData("upper-case checksum", 0, 3, 10, "upper", 4, null)]
    [InlineData("negative total size", 0, 3, -1, "archive", 4, "totalSize")]
    [InlineData("total size over the maximum", 0, 3, Max + 1, "archive", 4, "totalSize")]
    [InlineData("no chunks", 0, 0, 10, "archive", 4, "count")]
    [InlineData("more chunks than bytes", 0, 11, 10, "archive", 1, "count")]
    [InlineData("empty archive in two chunks", 0, 2, 0, "archive", 0, "count")]
    [InlineData("negative index", -1, 3, 10, "archive", 4, "index")]
    [InlineData("index past the last chunk", 3, 3, 10, "archive", 4, "index")]
    [InlineData("empty chunk of a non-empty archive", 1, 3, 10, "archive", 0, "data")]
    [InlineData("short checksum", 0, 3, 10, "abc", 4, "sha256")]
    [InlineData("checksum not hex", 0, 3, 10, "gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg", 4, "sha256")]
    public void Validate_Cases_NullOrTheFieldNamed(string name, long index, long count, long totalSize, string sha, int dataLength, string? field)
    {
        var reason = SnapshotChunkReceiver.Validate(index, count, totalSize, Declared(sha, []), dataLength, Max, Meaning);

        if (field is null)
        {
            Assert.True(reason is null, $"{name}: {reason}");
        }
        else
        {
            Assert.StartsWith($"{field} = ", reason, StringComparison.Ordinal);
            Assert.Contains(": expected ", reason, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(0, 0, 10, "count = 0: expected 1-10 for a totalSize of 10 bytes")]
    [InlineData(0, 3, 1001, "totalSize = 1001: expected 0-1000 bytes (the largest snapshot of this test)")]
    [InlineData(3, 3, 10, "index = 3: expected 0-2 for a count of 3")]
    public void Validate_Refused_ReasonNamesValueAndWhatIsAccepted(long index, long count, long totalSize, string expected)
        => Assert.Equal(expected, SnapshotChunkReceiver.Validate(index, count, totalSize, ArchiveSha, 4, Max, Meaning));

    [Theory]
    [InlineData("abc", "sha256 = 'abc': expected 64 hex digits")]
    [InlineData("a\nb", "sha256 = (3 characters): expected 64 hex digits")]
    public void Validate_BadChecksum_EchoedOnlyWhenShortAndPrintable(string sha, string expected)
        => Assert.Equal(expected, SnapshotChunkReceiver.Validate(0, 1, 10, sha, 10, Max, Meaning));

    [Fact]
    public void Validate_LongChecksum_LengthInsteadOfValue()
        => Assert.Equal("sha256 = (100 characters): expected 64 hex digits", SnapshotChunkReceiver.Validate(0, 1, 10, new string('a', 100), 10, Max, Meaning));

    [Theory]
    // case                                         taken index count size sha       data  expected
    [InlineData("chunk 0", 0, 0, 3, 10, "archive", 4, SnapshotChunkFault.None)]
    [InlineData("next in order", 1, 1, 3, 10, "archive", 4, SnapshotChunkFault.None)]
    [InlineData("last chunk fills the archive", 2, 2, 3, 10, "archive", 2, SnapshotChunkFault.None)]
    [InlineData("checksum in upper case", 1, 1, 3, 10, "upper", 4, SnapshotChunkFault.None)]
    [InlineData("chunk 0 again", 1, 0, 3, 10, "archive", 4, SnapshotChunkFault.Duplicate)]
    [InlineData("latest chunk again", 2, 1, 3, 10, "archive", 4, SnapshotChunkFault.Duplicate)]
    [InlineData("gap", 1, 2, 3, 10, "archive", 2, SnapshotChunkFault.OutOfOrder)]
    [InlineData("chunk 1 first", 0, 1, 3, 10, "archive", 4, SnapshotChunkFault.OutOfOrder)]
    [InlineData("count differs", 1, 1, 4, 10, "archive", 4, SnapshotChunkFault.Differs)]
    [InlineData("total size differs", 1, 1, 3, 11, "archive", 4, SnapshotChunkFault.Differs)]
    [InlineData("checksum differs", 1, 1, 3, 10, "other", 4, SnapshotChunkFault.Differs)]
    [InlineData("overlong last chunk", 2, 2, 3, 10, "archive", 3, SnapshotChunkFault.TooLong)]
    [InlineData("overlong middle chunk", 1, 1, 3, 10, "archive", 7, SnapshotChunkFault.TooLong)]
    [InlineData("order before description", 1, 2, 4, 10, "archive", 4, SnapshotChunkFault.OutOfOrder)]
    [InlineData("description before length", 1, 1, 4, 10, "archive", 100, SnapshotChunkFault.Differs)]
    public void Check_AfterChunksInOrder_Fault(string name, int taken, long index, long count, long totalSize, string sha, int dataLength, SnapshotChunkFault expected)
    {
        using var receiver = new SnapshotChunkReceiver(3, Archive.Length, ArchiveSha);
        foreach (var chunk in Chunks(Archive, 4).Take(taken))
        {
            Assert.Equal(SnapshotChunkFault.None, receiver.Check(receiver.NextIndex, 3, Archive.Length, ArchiveSha, chunk.Length));
            receiver.Append(chunk);
        }

        var fault = receiver.Check(index, count, totalSize, Declared(sha, Archive), dataLength);

        Assert.True(expected == fault, $"{name}: {fault}, not {expected}");
    }

    [Theory]
    // case                                    archive chunk count size  sha        expected
    [InlineData("whole archive in three chunks", 10, 4, 3, 10, "archive", SnapshotChunkFault.None)]
    [InlineData("whole archive in one chunk", 10, 10, 1, 10, "archive", SnapshotChunkFault.None)]
    [InlineData("empty snapshot", 0, 4, 1, 0, "archive", SnapshotChunkFault.None)]
    [InlineData("upper-case checksum", 10, 4, 3, 10, "upper", SnapshotChunkFault.None)]
    [InlineData("bad checksum", 10, 4, 3, 10, "other", SnapshotChunkFault.ChecksumMismatch)]
    [InlineData("empty snapshot, bad checksum", 0, 4, 1, 0, "other", SnapshotChunkFault.ChecksumMismatch)]
    [InlineData("last chunk short of the size", 8, 4, 2, 10, "archive", SnapshotChunkFault.TooShort)]
    public void Finish_AfterTheLastChunk_Fault(string name, int archiveLength, int chunkSize, long count, long totalSize, string sha, SnapshotChunkFault expected)
    {
        var archive = Archive[..archiveLength];
        var chunks = Chunks(archive, chunkSize);
        using var receiver = new SnapshotChunkReceiver(count, totalSize, Declared(sha, archive));
        Assert.Equal(count, chunks.Count);

        foreach (var chunk in chunks)
        {
            Assert.False(receiver.IsComplete, name);
            Assert.Equal(SnapshotChunkFault.None, receiver.Check(receiver.NextIndex, count, totalSize, Declared(sha, archive), chunk.Length));
            receiver.Append(chunk);
        }

        Assert.True(receiver.IsComplete, name);
        var fault = receiver.Finish();

        Assert.True(expected == fault, $"{name}: {fault}, not {expected}");
        Assert.Equal(archiveLength, receiver.Received);
        Assert.Equal(Sha(archive), receiver.ActualSha256);
    }

    [Theory]
    [InlineData(4, 10, "archive", "count 4, not 3")]
    [InlineData(3, 11, "archive", "totalSize 11, not 10")]
    [InlineData(4, 11, "archive", "count 4, not 3")]
    [InlineData(3, 10, "upper", null)]
    public void Differs_AgainstChunkZero_FirstFieldWithBothValues(long count, long totalSize, string sha, string? expected)
    {
        using var receiver = new SnapshotChunkReceiver(3, 10, ArchiveSha);

        Assert.Equal(expected, receiver.Differs(count, totalSize, Declared(sha, Archive)));
    }

    [Fact]
    public void Differs_Checksum_NamesBothLowercaseDeclaredLast()
    {
        using var receiver = new SnapshotChunkReceiver(3, 10, ArchiveSha.ToUpperInvariant());
        var other = Declared("other", Archive);

        Assert.Equal(ArchiveSha, receiver.Sha256);
        Assert.Equal($"sha256 {other}, not {ArchiveSha}", receiver.Differs(3, 10, other));
    }

    [Fact]
    public void Append_Unchecked_Throws()
    {
        using var receiver = new SnapshotChunkReceiver(1, 2, ArchiveSha);

        Assert.Throws<InvalidOperationException>(() => receiver.Append(new byte[3]));
        receiver.Append(new byte[2]);
        Assert.Throws<InvalidOperationException>(() => receiver.Append([]));
    }

    [Fact]
    public void Finish_BeforeTheLastChunkOrTwice_Throws()
    {
        using var receiver = new SnapshotChunkReceiver(2, 2, ArchiveSha);
        receiver.Append(new byte[1]);

        Assert.Throws<InvalidOperationException>(() => receiver.Finish());
        receiver.Append(new byte[1]);
        receiver.Finish();
        Assert.Throws<InvalidOperationException>(() => receiver.Finish());
    }

    private static List<byte[]> Chunks(byte[] archive, int size)
    {
        if (archive.Length == 0)
        {
            return [[]];
        }

        return [.. archive.Chunk(size)];
    }
}
