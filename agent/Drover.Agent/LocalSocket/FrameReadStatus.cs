namespace Drover.Agent.LocalSocket;

/// <summary>What <see cref="FrameReader{T}.ReadAsync"/> found.</summary>
internal enum FrameReadStatus
{
    /// <summary>A whole frame that parsed as a message.</summary>
    Message,

    /// <summary>The peer ended the stream between frames: a clean end.</summary>
    End,

    /// <summary>The peer ended the stream inside a frame's header or body.</summary>
    Truncated,

    /// <summary>The frame's length is over the maximum; its body was not read.</summary>
    Oversized,

    /// <summary>A whole frame whose body is not a valid message; the frame was consumed.</summary>
    Malformed,
}
