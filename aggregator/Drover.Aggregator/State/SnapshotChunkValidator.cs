using System.Buffers;
using System.Globalization;
using Drover.Protocol;
using Drover.Protocol.Snapshots;

namespace Drover.Aggregator.State;

/// <summary>
/// Checks the fields of a snapshot chunk where it enters, against the bounds of the agent link's
/// contract (agent_link.proto). A bad field is named with its value and what is accepted. The fields
/// that describe the archive and its chunking are checked by <see cref="SnapshotChunkReceiver.Validate"/>,
/// as an agent checks them on a restore; the ids and the version are checked here.
/// </summary>
internal static class SnapshotChunkValidator
{
    public const int MaxInstanceIdLength = 64;
    public const int MaxFunctionNameLength = 63;
    public const int MaxNodeIdLength = 64;

    private static readonly SearchValues<char> Controls =
        SearchValues.Create(Enumerable.Range(0, 32).Select(c => (char)c).Append((char)127).ToArray());

    /// <summary>Returns why the chunk cannot be accepted, naming the field, or null when it can.</summary>
    public static string? Validate(SnapshotChunk chunk, long maxSnapshotBytes)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (!IsInstanceId(chunk.InstanceId))
        {
            return Bad("instanceId", Show(chunk.InstanceId), $"1-{MaxInstanceIdLength} characters of A-Z a-z 0-9 . _ -, not \".\" or \"..\"");
        }

        if (!Names.IsName(chunk.FunctionName))
        {
            return Bad("function", Show(chunk.FunctionName), $"1-{MaxFunctionNameLength} characters of a-z 0-9 -, not starting with -");
        }

        if (!Names.IsId(chunk.SourceNodeId, MaxNodeIdLength))
        {
            return Bad("sourceNodeId", Show(chunk.SourceNodeId), $"1-{MaxNodeIdLength} characters of A-Z a-z 0-9 . _ -");
        }

        if (chunk.Version < 1)
        {
            return Bad("version", Number(chunk.Version), $"1-{long.MaxValue}");
        }

        return SnapshotChunkReceiver.Validate(
            chunk.ChunkIndex,
            chunk.TotalChunks,
            chunk.TotalSize,
            chunk.Sha256Hex,
            chunk.Data.Length,
            maxSnapshotBytes,
            "the largest snapshot this aggregator stores");
    }

    private static bool IsInstanceId(string id) =>
        Names.IsId(id, MaxInstanceIdLength) && id is not "." and not "..";

    private static string Bad(string field, string value, string accepted) => $"{field} = {value}: expected {accepted}";

    // A value a peer chose is echoed only while it is short.
    private static string Show(string value) =>
        value.Length <= 80 && !value.AsSpan().ContainsAny(Controls) ? $"'{value}'" : $"({value.Length} characters)";

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
