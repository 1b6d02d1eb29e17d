using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;

namespace Drover.Protocol.Snapshots;

/// <summary>
/// The receiving end of <see cref="SnapshotChunks"/>: one snapshot archive in transit, in either
/// direction (an agent's commit to the aggregator, the aggregator's restore to an agent). It holds the
/// rules every chunk must keep and counts and hashes what arrived, so that a receiver takes only the
/// whole archive chunk 0 announced. Where the bytes go, how many transfers may run at once, and how a
/// refusal is worded for whom stay with the caller.
/// </summary>
/// <remarks>
/// <para>Every chunk first passes <see cref="Validate"/>, its fields on their own. Chunk 0 starts a
/// transfer: the caller makes a receiver from its description, replacing any transfer of the same
/// instance and version in progress, since a sender that retries starts again from chunk 0. Every
/// chunk, chunk 0 included, then passes <see cref="Check"/> against what came before; the caller
/// stores its bytes and hands them to <see cref="Append"/>. Once <see cref="IsComplete"/>,
/// <see cref="Finish"/> says whether the size and SHA-256 match. Any fault ends the transfer: the
/// caller discards it.</para>
/// <para>Not thread-safe: the caller hands it the chunks of its transfer one at a time.</para>
/// </remarks>
public sealed class SnapshotChunkReceiver : IDisposable
{
    private static readonly SearchValues<char> HexDigits =
        SearchValues.Create("0123456789abcdefABCDEF");

    private static readonly SearchValues<char> Controls =
        SearchValues.Create(Enumerable.Range(0, 32).Select(c => (char)c).Append((char)127).ToArray());

    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    /// <summary>Starts a transfer with the description chunk 0 gave, which <see cref="Validate"/> accepted.</summary>
    /// <param name="count">How many chunks the archive comes in.</param>
    /// <param name="totalSize">The whole archive's size in bytes.</param>
    /// <param name="sha256">The whole archive's SHA-256, 64 hex digits in either case.</param>
    public SnapshotChunkReceiver(long count, long totalSize, string sha256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(totalSize);
        ArgumentException.ThrowIfNullOrEmpty(sha256);
        Count = count;
        TotalSize = totalSize;
        Sha256 = sha256.ToLowerInvariant();
    }

    /// <summary>How many chunks the archive comes in, as chunk 0 said.</summary>
    public long Count { get; }

    /// <summary>The archive's size in bytes, as chunk 0 said.</summary>
    public long TotalSize { get; }

    /// <summary>The archive's SHA-256 as chunk 0 said, lowercase hex.</summary>
    public string Sha256 { get; }

    /// <summary>The index the next chunk must have.</summary>
    public long NextIndex { get; private set; }

    /// <summary>How many bytes were appended so far.</summary>
    public long Received { get; private set; }

    /// <summary>Whether the last chunk was appended.</summary>
    public bool IsComplete => NextIndex >= Count;

    /// <summary>The SHA-256 of every byte appended, lowercase hex; null until <see cref="Finish"/>.</summary>
    public string? ActualSha256 { get; private set; }

    /// <summary>
    /// Returns why a chunk's own fields break the contract, naming the field with its value and what is
    /// accepted (<c>count = 0: expected 1-10 for a totalSize of 10 bytes</c>), or null when they keep it.
    /// </summary>
    /// <param name="index">The chunk's 0-based position.</param>
    /// <param name="count">How many chunks the chunk says the archive comes in.</param>
    /// <param name="totalSize">The archive's size the chunk says.</param>
    /// <param name="sha256">The archive's SHA-256 the chunk says.</param>
    /// <param name="dataLength">How many bytes the chunk carries.</param>
    /// <param name="maxSnapshotBytes">The largest archive this side takes.</param>
    /// <param name="maxSnapshotMeaning">What that bound is, for the reason: "the largest snapshot this aggregator stores".</param>
    public static string? Validate(long index, long count, long totalSize, string sha256, int dataLength, long maxSnapshotBytes, string maxSnapshotMeaning)
    {
        ArgumentNullException.ThrowIfNull(sha256);
        if (totalSize < 0 || totalSize > maxSnapshotBytes)
        {
            return Bad("totalSize", Number(totalSize), $"0-{maxSnapshotBytes} bytes ({maxSnapshotMeaning})");
        }

        // Every chunk but that of an empty archive carries at least one byte: a sender cannot keep a
        // transfer open with an endless run of empty chunks.
        var maxChunks = Math.Max(1, Math.Min(totalSize, int.MaxValue));
        if (count < 1 || count > maxChunks)
        {
            return Bad("count", Number(count), $"1-{maxChunks} for a totalSize of {totalSize} bytes");
        }

        if (index < 0 || index >= count)
        {
            return Bad("index", Number(index), $"0-{count - 1} for a count of {count}");
        }

        if (dataLength == 0 && totalSize > 0)
        {
            return Bad("data", "0 bytes", "at least 1 byte in every chunk of a non-empty archive");
        }

        if (sha256.Length != 64 || sha256.AsSpan().ContainsAnyExcept(HexDigits))
        {
            return Bad("sha256", Show(sha256), "64 hex digits");
        }

        return null;
    }

    /// <summary>
    /// Checks a chunk against what came before: <see cref="CheckIndex"/>, then <see cref="Differs"/>,
    /// then <see cref="Overflows"/>. A caller with fields of its own to compare with chunk 0 calls them
    /// one by one instead.
    /// </summary>
    public SnapshotChunkFault Check(long index, long count, long totalSize, string sha256, int dataLength)
    {
        var order = CheckIndex(index);
        if (order != SnapshotChunkFault.None)
        {
            return order;
        }

        if (Differs(count, totalSize, sha256) is not null)
        {
            return SnapshotChunkFault.Differs;
        }

        return Overflows(dataLength) ? SnapshotChunkFault.TooLong : SnapshotChunkFault.None;
    }

    /// <summary>Chunks come in order, each once: <see cref="SnapshotChunkFault.Duplicate"/> or <see cref="SnapshotChunkFault.OutOfOrder"/> unless <paramref name="index"/> is <see cref="NextIndex"/>.</summary>
    public SnapshotChunkFault CheckIndex(long index)
    {
        if (index == NextIndex)
        {
            return SnapshotChunkFault.None;
        }

        return index < NextIndex ? SnapshotChunkFault.Duplicate : SnapshotChunkFault.OutOfOrder;
    }

    /// <summary>
    /// Every chunk repeats chunk 0's description of the archive: returns the first field that differs,
    /// with both values (<c>count 4, not 3</c>), or null. The SHA-256's hex digits compare in either case.
    /// </summary>
    public string? Differs(long count, long totalSize, string sha256)
    {
        if (count != Count)
        {
            return $"count {count}, not {Count}";
        }

        if (totalSize != TotalSize)
        {
            return $"totalSize {totalSize}, not {TotalSize}";
        }

        return string.Equals(sha256, Sha256, StringComparison.OrdinalIgnoreCase) ? null : $"sha256 {sha256}, not {Sha256}";
    }

    /// <summary>Whether <paramref name="dataLength"/> more bytes would take the archive past <see cref="TotalSize"/>.</summary>
    public bool Overflows(int dataLength) => Received + dataLength > TotalSize;

    /// <summary>Counts and hashes the bytes of the chunk <see cref="Check"/> took, once the caller stored them.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        if (IsComplete || Overflows(data.Length))
        {
            throw new InvalidOperationException($"chunk {NextIndex} of {Count} with {data.Length} bytes was not checked: {Received} of {TotalSize} bytes arrived so far");
        }

        _hash.AppendData(data);
        Received += data.Length;
        NextIndex++;
    }

    /// <summary>
    /// After the last chunk: <see cref="SnapshotChunkFault.None"/> when exactly <see cref="TotalSize"/>
    /// bytes arrived and they hash to <see cref="Sha256"/>, else which of the two failed. Sets
    /// <see cref="ActualSha256"/>. Call once.
    /// </summary>
    public SnapshotChunkFault Finish()
    {
        if (!IsComplete || ActualSha256 is not null)
        {
            throw new InvalidOperationException($"the transfer is at chunk {NextIndex} of {Count}{(ActualSha256 is null ? "" : ", already finished")}");
        }

        ActualSha256 = Convert.ToHexStringLower(_hash.GetHashAndReset());
        if (Received != TotalSize)
        {
            return SnapshotChunkFault.TooShort;
        }

        return string.Equals(ActualSha256, Sha256, StringComparison.Ordinal) ? SnapshotChunkFault.None : SnapshotChunkFault.ChecksumMismatch;
    }

    public void Dispose() => _hash.Dispose();

    private static string Bad(string field, string value, string accepted) => $"{field} = {value}: expected {accepted}";

    // A value a peer chose is echoed only while it is short.
    private static string Show(string value) =>
        value.Length <= 80 && !value.AsSpan().ContainsAny(Controls) ? $"'{value}'" : $"({value.Length} characters)";

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
