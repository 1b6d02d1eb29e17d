using System.IO.Pipelines;
using System.Net.Sockets;
using Drover.Agent.LocalSocket;
using Drover.Agent.LocalSocket.V1;

namespace Drover.Agent.Tests.LocalSocket;

/// <summary>An instance's end of the local socket, for tests: frames or raw bytes out, frames in, every await bounded.</summary>
internal sealed class LocalSocketTestClient : IAsyncDisposable
{
    /// <summary>The bound on every await of these tests.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _input;
    private readonly FrameReader<AgentFrame> _frames;

    private LocalSocketTestClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _input = PipeReader.Create(_stream, new StreamPipeReaderOptions(leaveOpen: true));
        _frames = new FrameReader<AgentFrame>(_input, AgentFrame.Parser);
    }

    public static async Task<LocalSocketTestClient> ConnectAsync(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path)).WaitAsync(Timeout);
            return new LocalSocketTestClient(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public Task SendAsync(InstanceFrame frame) => SendRawAsync(FrameWriter.ToArray(frame));

    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var sent = await _socket.SendAsync(bytes, SocketFlags.None).AsTask().WaitAsync(Timeout);
            bytes = bytes[sent..];
        }
    }

    /// <summary>Sends the bytes one at a time.</summary>
    public async Task SendByteByByteAsync(ReadOnlyMemory<byte> bytes)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            await SendRawAsync(bytes.Slice(i, 1));
        }
    }

    /// <summary>Sends the bytes in chunks of 1 to <paramref name="maxChunk"/> bytes.</summary>
    public async Task SendInChunksAsync(ReadOnlyMemory<byte> bytes, Random random, int maxChunk)
    {
        while (!bytes.IsEmpty)
        {
            var chunk = Math.Min(bytes.Length, random.Next(1, maxChunk + 1));
            await SendRawAsync(bytes[..chunk]);
            bytes = bytes[chunk..];
        }
    }

    /// <summary>Tells the server nothing more will be sent.</summary>
    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    /// <summary>The next frame, or null when the agent closed the connection cleanly instead.</summary>
    public async Task<AgentFrame?> ReceiveOrEndAsync()
    {
        var read = await _frames.ReadAsync(CancellationToken.None).AsTask().WaitAsync(Timeout);
        if (read.Status == FrameReadStatus.End)
        {
            return null;
        }

        Assert.True(read.Status == FrameReadStatus.Message, $"expected a frame from the agent or its end, got {read.Status} ({read.Detail})");
        return read.Message!;
    }

    public async Task<AgentFrame> ReceiveAsync()
    {
        var read = await _frames.ReadAsync(CancellationToken.None).AsTask().WaitAsync(Timeout);
        Assert.True(read.Status == FrameReadStatus.Message, $"expected a frame from the agent, got {read.Status} ({read.Detail})");
        return read.Message!;
    }

    /// <summary>The next frame, or null when the agent closed the connection cleanly.</summary>
    public async Task<AgentFrame?> TryReceiveAsync()
    {
        var read = await _frames.ReadAsync(CancellationToken.None).AsTask().WaitAsync(Timeout);
        if (read.Status == FrameReadStatus.End)
        {
            return null;
        }

        Assert.True(read.Status == FrameReadStatus.Message, $"expected a frame from the agent, got {read.Status} ({read.Detail})");
        return read.Message!;
    }

    /// <summary>Receives the next frame and checks it is an Error with the code.</summary>
    public async Task<AgentFrame> ReceiveErrorAsync(string code)
    {
        var frame = await ReceiveAsync();
        Assert.True(frame.KindCase == AgentFrame.KindOneofCase.Error, $"expected Error '{code}', got {frame}");
        Assert.Equal(code, frame.Error.Code);
        return frame;
    }

    /// <summary>
    /// Checks the agent closed the connection: the stream ends, or is reset when the agent closed it
    /// with bytes of ours unread (what Linux does for a Unix socket closed with data pending).
    /// </summary>
    public async Task AssertClosedAsync()
    {
        try
        {
            var read = await _frames.ReadAsync(CancellationToken.None).AsTask().WaitAsync(Timeout);
            Assert.True(read.Status == FrameReadStatus.End, $"expected the agent to close the connection, got {read.Status} {read.Message}");
        }
        catch (IOException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _input.CompleteAsync();
        await _stream.DisposeAsync();
    }
}
