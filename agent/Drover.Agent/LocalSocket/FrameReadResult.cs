namespace Drover.Agent.LocalSocket;

/// <summary>One result of <see cref="FrameReader{T}.ReadAsync"/>.</summary>
/// <param name="Status">What was read.</param>
/// <param name="Message">The message, when <paramref name="Status"/> is <see cref="FrameReadStatus.Message"/>.</param>
/// <param name="Length">The frame's declared body length (Message, Malformed, Oversized, Truncated inside a body); 0 otherwise.</param>
/// <param name="Detail">Why, for Malformed and Truncated; null otherwise.</param>
internal readonly record struct FrameReadResult<T>(FrameReadStatus Status, T? Message, long Length, string? Detail)
    where T : class;
