namespace Drover.Agent.LocalSocket;

/// <summary>The codes of the local socket's Error frames (see local_socket.proto).</summary>
internal static class ErrorCodes
{
    /// <summary>The frame is not a valid InstanceFrame, or the connection ended inside a frame. Closes the connection.</summary>
    public const string Malformed = "malformed";

    /// <summary>The frame's length is over the maximum. Closes the connection without reading the frame.</summary>
    public const string Oversized = "oversized";

    /// <summary>Register was not the first frame, or came twice. Closes the connection.</summary>
    public const string OutOfOrder = "out_of_order";

    /// <summary>Wrong or unknown instance id or token, or no Register in time. Closes the connection.</summary>
    public const string Unauthenticated = "unauthenticated";

    /// <summary>The frame breaks a rule (no kind, a field out of range). The connection stays open.</summary>
    public const string Invalid = "invalid";

    /// <summary>The agent has too many connections open (sent before any frame is read), or the connection fell behind reading its pushed Events. Closes the connection.</summary>
    public const string Unavailable = "unavailable";
}
