using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Google.Protobuf;

namespace Drover.Agent.LocalSocket;

/// <summary>Writes length-prefixed protobuf frames (<see cref="Frames"/>).</summary>
internal static class FrameWriter
{
    /// <summary>Writes one frame into <paramref name="output"/>, without flushing.</summary>
    /// <exception cref="ArgumentException">The message is larger than <paramref name="maxSize"/>.</exception>
    public static void Write(IBufferWriter<byte> output, IMessage message, int maxSize = Frames.MaxSize)
    {
        var length = message.CalculateSize();
        if (length > maxSize)
        {
            throw new ArgumentException($"A {message.Descriptor.Name} of {length} bytes is over the frame maximum of {maxSize} bytes.", nameof(message));
        }

        var span = output.GetSpan(Frames.HeaderSize + length);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)length);
        message.WriteTo(span.Slice(Frames.HeaderSize, length));
        output.Advance(Frames.HeaderSize + length);
    }

    /// <summary>Writes one frame and flushes it.</summary>
    public static ValueTask<FlushResult> WriteAsync(PipeWriter output, IMessage message, CancellationToken cancellationToken, int maxSize = Frames.MaxSize)
    {
        Write(output, message, maxSize);
        return output.FlushAsync(cancellationToken);
    }

    /// <summary>One frame as a byte array.</summary>
    public static byte[] ToArray(IMessage message, int maxSize = Frames.MaxSize)
    {
        var output = new ArrayBufferWriter<byte>();
        Write(output, message, maxSize);
        return output.WrittenSpan.ToArray();
    }
}
