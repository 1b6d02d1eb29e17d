using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Drover.Aggregator.Tests;

/// <summary>
/// A raw HTTP/2 cleartext client on a socket: the connection preface and an empty SETTINGS frame,
/// then frames read and written one at a time (RFC 9113). Unlike <see cref="HttpClient"/> it answers
/// nothing by itself, so a test can play a peer whose host is gone while its connection stays open:
/// one that never acknowledges a PING.
/// </summary>
internal sealed class H2cPeer : IDisposable
{
    public const byte SettingsFrame = 0x4;
    public const byte PingFrame = 0x6;
    public const byte GoAwayFrame = 0x7;
    public const byte AckFlag = 0x1;

    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    private H2cPeer(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>Connects to <paramref name="port"/> on loopback and sends the preface and an empty SETTINGS frame.</summary>
    public static async Task<H2cPeer> ConnectAsync(int port, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var peer = new H2cPeer(socket);
        try
        {
            await peer._stream.WriteAsync(Preface, cancellationToken);
            await peer.WriteFrameAsync(SettingsFrame, 0, [], cancellationToken);
        }
        catch (IOException)
        {
            // Closed by the server at once (a connection beyond the cap): the reads say so.
        }

        return peer;
    }

    /// <summary>
    /// Whether a new connection to <paramref name="port"/> is closed before the server sends a frame:
    /// reset while it connects (a refusal can beat the connect's completion on a loaded machine), or
    /// ended at its first read.
    /// </summary>
    public static async Task<bool> ClosedBeforeAFrameAsync(int port, CancellationToken cancellationToken)
    {
        H2cPeer peer;
        try
        {
            peer = await ConnectAsync(port, cancellationToken);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return true;
        }

        using (peer)
        {
            return await peer.ReadFrameAsync(cancellationToken) is null;
        }
    }

    /// <summary>The next frame, or null once the server has closed the connection (end of stream or reset).</summary>
    public async Task<Frame?> ReadFrameAsync(CancellationToken cancellationToken)
    {
        var header = new byte[9];
        try
        {
            await _stream.ReadExactlyAsync(header, cancellationToken);
            var length = (header[0] << 16) | (header[1] << 8) | header[2];
            var payload = new byte[length];
            await _stream.ReadExactlyAsync(payload, cancellationToken);
            var streamId = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & int.MaxValue;
            return new Frame(header[3], header[4], streamId, payload);
        }
        catch (EndOfStreamException)
        {
            return null;
        }
        catch (IOException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            return null;
        }
    }

    /// <summary>
    /// Reads frames until the connection closes or <paramref name="until"/> holds for a frame read,
    /// acknowledging the server's SETTINGS, and its PINGs only when <paramref name="answerPings"/>.
    /// Returns every frame read, the one that stopped the reading last; a closed connection adds nothing.
    /// </summary>
    /// <exception cref="TimeoutException"><paramref name="cancellationToken"/> was cancelled first; names the frames read.</exception>
    public async Task<List<Frame>> ReadFramesAsync(bool answerPings, Func<IReadOnlyList<Frame>, bool> until, CancellationToken cancellationToken)
    {
        var frames = new List<Frame>();
        while (await ReadFrameOrTimeoutAsync(frames, cancellationToken) is { } frame)
        {
            frames.Add(frame);
            var answer = !frame.IsAck && (frame.Type == SettingsFrame || (frame.Type == PingFrame && answerPings));
            if (answer)
            {
                try
                {
                    // A PING is answered with its own payload; a SETTINGS acknowledgement carries none.
                    await WriteFrameAsync(frame.Type, AckFlag, frame.Type == PingFrame ? frame.Payload : [], cancellationToken);
                }
                catch (IOException)
                {
                    return frames; // closed by the server meanwhile
                }
            }

            if (until(frames))
            {
                break;
            }
        }

        return frames;
    }

    private async Task<Frame?> ReadFrameOrTimeoutAsync(List<Frame> frames, CancellationToken cancellationToken)
    {
        try
        {
            return await ReadFrameAsync(cancellationToken);
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            var types = string.Join(", ", frames.Select(f => $"{f.Type}{(f.IsAck ? " ack" : "")}"));
            throw new TimeoutException($"The server neither closed the connection nor sent the frame awaited; frame types read: [{types}].", ex);
        }
    }

    /// <summary>Writes one frame on stream 0, the connection's own.</summary>
    public async Task WriteFrameAsync(byte type, byte flags, byte[] payload, CancellationToken cancellationToken)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        payload.CopyTo(frame, 9);
        await _stream.WriteAsync(frame, cancellationToken);
    }

    public void Dispose()
    {
        _stream.Dispose();
        _socket.Dispose();
    }

    public readonly record struct Frame(byte Type, byte Flags, int StreamId, byte[] Payload)
    {
        public bool IsAck => (Flags & AckFlag) != 0;
    }
}
