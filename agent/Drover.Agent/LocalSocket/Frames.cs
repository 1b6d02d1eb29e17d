namespace Drover.Agent.LocalSocket;

/// <summary>
/// The local socket's framing: each message is a 4-byte big-endian length, then that many bytes of
/// protobuf. A zero-length frame is a valid, empty message.
/// </summary>
internal static class Frames
{
    /// <summary>Bytes of the length prefix.</summary>
    public const int HeaderSize = 4;

    /// <summary>
    /// The hard maximum length of a frame's body. The largest request (64 GPUs with 96-character
    /// UUIDs) is under 8 KiB; the cap bounds what one peer makes the agent buffer.
    /// </summary>
    public const int MaxSize = 64 * 1024;
}
