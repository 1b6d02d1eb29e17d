namespace Drover.Protocol.Snapshots;

/// <summary>
/// Why a <see cref="SnapshotChunkReceiver"/> does not take a chunk, or the archive its chunks made.
/// Every fault but <see cref="None"/> ends the transfer: the receiver discards it and the sender starts
/// again from chunk 0.
/// </summary>
public enum SnapshotChunkFault
{
    /// <summary>The chunk (or the archive) is taken.</summary>
    None,

    /// <summary>The chunk's index was already received.</summary>
    Duplicate,

    /// <summary>The chunk's index is past the next one expected: a chunk between them is missing.</summary>
    OutOfOrder,

    /// <summary>The chunk describes another archive (count, total size or SHA-256) than chunk 0 did.</summary>
    Differs,

    /// <summary>The chunk's bytes would take the archive past its announced total size.</summary>
    TooLong,

    /// <summary>After the last chunk, fewer bytes arrived than the announced total size.</summary>
    TooShort,

    /// <summary>After the last chunk, the bytes that arrived do not hash to the announced SHA-256.</summary>
    ChecksumMismatch,
}
