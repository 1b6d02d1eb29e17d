using System.Security.Cryptography;
using Drover.Aggregator.State;

namespace Drover.Aggregator.Tests.State;

/// <summary>Archives with known bytes, their descriptions and their chunks.</summary>
internal static class Snapshots
{
    public static readonly DateTimeOffset TakenAt = new(2025, 3, 1, 12, 0, 0, 123, TimeSpan.FromHours(2));
    public static readonly DateTimeOffset CommittedAt = new(2025, 3, 1, 10, 0, 1, 456, TimeSpan.Zero);

    /// <summary>Deterministic bytes, different for every seed.</summary>
    public static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static SnapshotInfo Info(string instanceId, long version, byte[] bytes, string? sha256 = null) => new(
        instanceId,
        "resize",
        version,
        bytes.Length,
        sha256 ?? Sha256(bytes),
        "node-1",
        TakenAt,
        CommittedAt);

    /// <summary>Splits an archive into the chunks of one upload.</summary>
    public static List<SnapshotChunk> Chunks(string instanceId, long version, byte[] bytes, int chunkSize, string? sha256 = null, long epoch = 0)
    {
        var count = Math.Max(1, (bytes.Length + chunkSize - 1) / chunkSize);
        var chunks = new List<SnapshotChunk>(count);
        for (var i = 0; i < count; i++)
        {
            var start = i * chunkSize;
            var data = bytes.AsMemory(start, Math.Min(chunkSize, bytes.Length - start));
            chunks.Add(new SnapshotChunk(instanceId, "resize", version, i, count, bytes.Length, sha256 ?? Sha256(bytes), data, "node-1", TakenAt, epoch));
        }

        return chunks;
    }

    public static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }
}
