using System.Buffers.Binary;
using Drover.Agent.LocalSocket.V1;
using Google.Protobuf;

namespace Drover.Samples.Counter;

/// <summary>The local socket's framing, instance side: a 4-byte big-endian length, then the protobuf message.</summary>
internal static class SocketFrames
{
    private const int MaxFrameBytes = 64 * 1024;

    public static void Write(Stream stream, InstanceFrame frame)
    {
        var body = frame.ToByteArray();
        var header = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(header, body.Length);
        stream.Write(header);
        stream.Write(body);
    }

    public static AgentFrame Read(Stream stream)
    {
        var header = new byte[4];
        stream.ReadExactly(header);
        var length = BinaryPrimitives.ReadInt32BigEndian(header);
        if (length is < 0 or > MaxFrameBytes)
        {
            throw new IOException($"the agent sent a frame of {length} bytes");
        }

        var body = new byte[length];
        stream.ReadExactly(body);
        return AgentFrame.Parser.ParseFrom(body);
    }
}
