using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Google.Protobuf;

namespace Drover.Agent.LocalSocket;

/// <summary>
/// Reads length-prefixed protobuf frames (<see cref="Frames"/>) from a <see cref="PipeReader"/>.
/// A header may arrive split across segments or reads; a frame over the maximum is reported as soon
/// as its header is read, without waiting for (or buffering) its body. Several frames that arrive in
/// one read are returned one per call without waiting for more input.
/// </summary>
/// <remarks>
/// The <c>AdvanceTo(consumed, examined)</c> rule: after a whole frame, consumed = examined = the
/// frame's end, so the next call sees the rest at once; after an incomplete frame, nothing is
/// consumed and everything is examined, so the next call waits for more bytes instead of spinning
/// (dotnet/docs, standard/io/pipelines.md, "Common problems").
/// </remarks>
internal sealed class FrameReader<T>
    where T : class, IMessage<T>
{
    private readonly PipeReader _input;
    private readonly MessageParser<T> _parser;
    private readonly int _maxSize;

    public FrameReader(PipeReader input, MessageParser<T> parser, int maxSize = Frames.MaxSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSize);
        _input = input;
        _parser = parser;
        _maxSize = maxSize;
    }

    /// <summary>
    /// Reads the next frame. Throws <see cref="OperationCanceledException"/> when cancelled (through
    /// the token or <see cref="PipeReader.CancelPendingRead"/>); what was not consumed stays for the
    /// next call.
    /// </summary>
    public async ValueTask<FrameReadResult<T>> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _input.ReadAsync(cancellationToken);
            if (result.IsCanceled)
            {
                throw new OperationCanceledException("The frame read was cancelled.");
            }

            var buffer = result.Buffer;
            var frame = TryParse(buffer, out var consumed, out var examined);
            _input.AdvanceTo(consumed, examined);
            if (frame is { } found)
            {
                return found;
            }

            if (result.IsCompleted)
            {
                // Nothing more will come: what is left (if anything) is a partial frame.
                return buffer.IsEmpty
                    ? new FrameReadResult<T>(FrameReadStatus.End, null, 0, null)
                    : Truncated(buffer);
            }
        }
    }

    private FrameReadResult<T>? TryParse(ReadOnlySequence<byte> buffer, out SequencePosition consumed, out SequencePosition examined)
    {
        consumed = buffer.Start;
        examined = buffer.End;
        if (buffer.Length < Frames.HeaderSize)
        {
            return null;
        }

        var length = ReadLength(buffer);
        if (length > (uint)_maxSize)
        {
            // Only the header is consumed; the caller closes the connection rather than skip the body.
            consumed = examined = buffer.GetPosition(Frames.HeaderSize);
            return new FrameReadResult<T>(FrameReadStatus.Oversized, null, length, null);
        }

        if (buffer.Length - Frames.HeaderSize < length)
        {
            return null;
        }

        var body = buffer.Slice(Frames.HeaderSize, length);
        consumed = examined = body.End;
        try
        {
            return new FrameReadResult<T>(FrameReadStatus.Message, _parser.ParseFrom(body), length, null);
        }
        catch (InvalidProtocolBufferException ex)
        {
            return new FrameReadResult<T>(FrameReadStatus.Malformed, null, length, ex.Message);
        }
    }

    private static uint ReadLength(ReadOnlySequence<byte> buffer)
    {
        var first = buffer.FirstSpan;
        if (first.Length >= Frames.HeaderSize)
        {
            return BinaryPrimitives.ReadUInt32BigEndian(first);
        }

        // The header spans segments.
        Span<byte> header = stackalloc byte[Frames.HeaderSize];
        buffer.Slice(0, Frames.HeaderSize).CopyTo(header);
        return BinaryPrimitives.ReadUInt32BigEndian(header);
    }

    private static FrameReadResult<T> Truncated(ReadOnlySequence<byte> rest)
    {
        if (rest.Length < Frames.HeaderSize)
        {
            return new FrameReadResult<T>(FrameReadStatus.Truncated, null, 0, $"the stream ended inside a frame's header ({rest.Length} of {Frames.HeaderSize} bytes)");
        }

        var length = ReadLength(rest);
        return new FrameReadResult<T>(FrameReadStatus.Truncated, null, length, $"the stream ended inside a frame ({rest.Length - Frames.HeaderSize} of {length} bytes)");
    }
}
