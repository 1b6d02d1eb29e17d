using System.Buffers;
using System.Globalization;
using Drover.Protocol;

namespace Drover.Aggregator.State;

/// <summary>
/// Checks the fields of a snapshot chunk where it enters, against the bounds of the agent link's
/// contract (agent_link.proto). A bad field is named with its value and what is accepted.
/// </summary>
internal static class SnapshotChunkValidator
{
    public const int MaxInstanceIdLength = 64;
    public const int MaxFunctionNameLength = 63;
    public const int MaxNodeIdLength = 64;

    private static readonly SearchValues<char> HexDigits =
        SearchValues.Create("0123456789abcdefABCDEF");

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

        if (chunk.TotalSize < 0 || chunk.TotalSize > maxSnapshotBytes)
        {
            return Bad("totalSize", Number(chunk.TotalSize), $"0-{maxSnapshotBytes} bytes (the largest snapshot this aggregator stores)");
        }

        // Every chunk but that of an empty archive carries at least one byte: a peer cannot keep an
        // upload open with an endless run of empty chunks.
        var maxChunks = Math.Max(1, Math.Min(chunk.TotalSize, int.MaxValue));
        if (chunk.TotalChunks < 1 || chunk.TotalChunks > maxChunks)
        {
            return Bad("count", Number(chunk.TotalChunks), $"1-{maxChunks} for a totalSize of {chunk.TotalSize} bytes");
        }

        if (chunk.ChunkIndex < 0 || chunk.ChunkIndex >= chunk.TotalChunks)
        {
            return Bad("index", Number(chunk.ChunkIndex), $"0-{chunk.TotalChunks - 1} for a count of {chunk.TotalChunks}");
        }

        if (chunk.Data.Length == 0 && chunk.TotalSize > 0)
        {
            return Bad("data", "0 bytes", "at least 1 byte in every chunk of a non-empty archive");
        }

        if (chunk.Sha256Hex.Length != 64 || chunk.Sha256Hex.AsSpan().ContainsAnyExcept(HexDigits))
        {
            return Bad("sha256", Show(chunk.Sha256Hex), "64 hex digits");
        }

        return null;
    }

    private static bool IsInstanceId(string id) =>
        Names.IsId(id, MaxInstanceIdLength) && id is not "." and not "..";

    private static string Bad(string field, string value, string accepted) => $"{field} = {value}: expected {accepted}";

    // A value a peer chose is echoed only while it is short.
    private static string Show(string value) =>
        value.Length <= 80 && !value.AsSpan().ContainsAny(Controls) ? $"'{value}'" : $"({value.Length} characters)";

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
