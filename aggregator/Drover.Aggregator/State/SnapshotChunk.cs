namespace Drover.Aggregator.State;

/// <summary>
/// One chunk of a snapshot upload, as the agent link hands it to the <see cref="SnapshotAssembler"/>.
/// Every field but <see cref="ChunkIndex"/> and <see cref="Data"/> repeats the upload's description
/// and must be the same on every chunk of it.
/// </summary>
/// <param name="InstanceId">The instance whose state directory the archive holds.</param>
/// <param name="FunctionName">The function (or service) of the instance.</param>
/// <param name="Version">The snapshot's version, chosen by the agent; 1 or more.</param>
/// <param name="ChunkIndex">0-based position of this chunk.</param>
/// <param name="TotalChunks">How many chunks the upload has.</param>
/// <param name="TotalSize">The whole archive's size in bytes.</param>
/// <param name="Sha256Hex">The whole archive's SHA-256, 64 hex digits.</param>
/// <param name="Data">This chunk's bytes; copied before <see cref="SnapshotAssembler.AcceptChunkAsync"/> returns.</param>
/// <param name="SourceNodeId">The node of the stream the chunk came on.</param>
/// <param name="TakenAt">When the agent took the snapshot, on the agent's clock.</param>
/// <param name="Epoch">The fencing epoch the copy that sent it was started with; 0 when unknown (see <see cref="Drover.Decisions.Placement.EpochFence"/>).</param>
internal sealed record SnapshotChunk(
    string InstanceId,
    string FunctionName,
    long Version,
    int ChunkIndex,
    int TotalChunks,
    long TotalSize,
    string Sha256Hex,
    ReadOnlyMemory<byte> Data,
    string SourceNodeId,
    DateTimeOffset TakenAt,
    long Epoch = 0);
