using Drover.Protocol.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Drover.Protocol.Snapshots;

/// <summary>
/// How a state snapshot travels on the agent link, in either direction: in order, in chunks of at most
/// <see cref="ChunkBytes"/>, each repeating the whole archive's size and SHA-256. One implementation
/// for the agent (commits) and the aggregator (restores).
/// </summary>
public static class SnapshotChunks
{
    /// <summary>The most data one chunk carries.</summary>
    public const int ChunkBytes = 1024 * 1024;

    /// <summary>How many chunks an archive of <paramref name="size"/> bytes takes (an empty archive takes one).</summary>
    public static uint CountFor(long size) => (uint)Math.Max(1, (size + ChunkBytes - 1) / ChunkBytes);

    /// <summary>Reads <paramref name="content"/> (exactly <paramref name="size"/> bytes) as chunks, one at a time.</summary>
    public static async IAsyncEnumerable<StateChunk> ReadAsync(
        Stream content,
        string instanceId,
        string function,
        ulong version,
        long size,
        string sha256,
        DateTimeOffset takenAt,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var count = CountFor(size);
        var buffer = new byte[(int)Math.Min(ChunkBytes, Math.Max(size, 1))];
        var taken = Timestamp.FromDateTimeOffset(takenAt);
        var remaining = size;
        for (uint index = 0; index < count; index++)
        {
            var want = (int)Math.Min(buffer.Length, remaining);
            var read = await content.ReadAtLeastAsync(buffer.AsMemory(0, want), want, throwOnEndOfStream: false, cancellationToken);
            if (read < want)
            {
                throw new IOException($"the snapshot of instance '{instanceId}' ended after {size - remaining + read} of {size} bytes");
            }

            remaining -= read;
            yield return new StateChunk
            {
                InstanceId = instanceId,
                Function = function,
                Version = version,
                Index = index,
                Count = count,
                TotalSize = (ulong)size,
                Sha256 = sha256,
                Data = ByteString.CopyFrom(buffer, 0, read),
                TakenAt = taken,
            };
        }
    }
}
