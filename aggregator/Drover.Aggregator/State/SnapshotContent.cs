using System.Buffers;
using System.Security.Cryptography;

namespace Drover.Aggregator.State;

/// <summary>
/// How every store takes in an archive: read from the upload in whole pieces of at most a given size (the last one
/// shorter), hashed as it goes, handed to the store's writer piece by piece, and checked against what the commit
/// declared (its size, then its SHA-256). Never more than one piece in memory.
/// </summary>
internal static class SnapshotContent
{
    /// <summary>
    /// Copies <paramref name="info"/>'s <c>SizeBytes</c> bytes of <paramref name="content"/> to <paramref name="write"/> in
    /// pieces of <paramref name="pieceBytes"/> (each full but the last); returns why the content does not match the
    /// commit (shorter, longer, another hash), or null. The writer's piece is only valid during its call.
    /// </summary>
    public static async Task<string?> CopyAsync(
        SnapshotInfo info,
        Stream content,
        int pieceBytes,
        Func<ArraySegment<byte>, CancellationToken, ValueTask> write,
        CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(pieceBytes);
        try
        {
            long written = 0;
            while (written < info.SizeBytes)
            {
                // Fill a whole piece (the upload's reads may be short) unless the archive ends first.
                var want = (int)Math.Min(pieceBytes, info.SizeBytes - written);
                var filled = 0;
                while (filled < want)
                {
                    var read = await content.ReadAsync(buffer.AsMemory(filled, want - filled), cancellationToken);
                    if (read == 0)
                    {
                        return $"the content of version {info.Version} of instance '{info.InstanceId}' ended after {written + filled} bytes; sizeBytes is {info.SizeBytes}";
                    }

                    filled += read;
                }

                hash.AppendData(buffer, 0, filled);
                await write(new ArraySegment<byte>(buffer, 0, filled), cancellationToken);
                written += filled;
            }

            if (await content.ReadAsync(buffer.AsMemory(0, 1), cancellationToken) != 0)
            {
                return $"the content of version {info.Version} of instance '{info.InstanceId}' is longer than its sizeBytes of {info.SizeBytes}";
            }

            var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            return string.Equals(actual, info.Sha256Hex, StringComparison.OrdinalIgnoreCase)
                ? null
                : $"the content of version {info.Version} of instance '{info.InstanceId}' hashes to sha256 {actual}, not {info.Sha256Hex}";
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
