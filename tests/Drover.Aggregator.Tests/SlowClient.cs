using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Drover.Aggregator.Tests;

/// <summary>
/// A raw TCP client of the HTTP port that sends a request's start at once and then trickles bytes
/// (Slowloris), never finishing: what an attacker holding connections open does. It keeps what the
/// server sends, to learn how (and whether) the server closed it.
/// </summary>
internal sealed class SlowClient : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task<int> _trickle;
    private readonly Task<string> _closed;

    private SlowClient(Socket socket, ReadOnlyMemory<byte> drip, TimeSpan every)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _trickle = TrickleAsync(drip, every, _stop.Token);
        _closed = ReadUntilClosedAsync(_stop.Token);
    }

    /// <summary>Completes with what the server sent once it closed the connection (end of stream or reset).</summary>
    public Task<string> Closed => _closed;

    /// <summary>
    /// Connects to <paramref name="port"/>, sends <paramref name="start"/>, then one copy of
    /// <paramref name="drip"/> every <paramref name="every"/> until the connection breaks or it is disposed.
    /// </summary>
    public static async Task<SlowClient> StartAsync(int port, string start, string drip, TimeSpan every, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
            await socket.SendAsync(Encoding.ASCII.GetBytes(start), cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new SlowClient(socket, Encoding.ASCII.GetBytes(drip), every);
    }

    /// <summary>What the server sent until it closed the connection; <see cref="TimeoutException"/> when it had not within <paramref name="bound"/>.</summary>
    public async Task<string> WaitClosedAsync(TimeSpan bound)
    {
        try
        {
            return await _closed.WaitAsync(bound);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"The server did not close a slow client's connection within {bound.TotalSeconds} s (it had sent {Sent} bytes after the start).", ex);
        }
    }

    /// <summary>How many drips were sent so far.</summary>
    public int Sent { get; private set; }

    public void Dispose()
    {
        _stop.Cancel();
        _stream.Dispose();
        _socket.Dispose();
        _stop.Dispose();
    }

    private async Task<int> TrickleAsync(ReadOnlyMemory<byte> drip, TimeSpan every, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(every, cancellationToken);
                await _stream.WriteAsync(drip, cancellationToken);
                Sent++;
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            return Sent;
        }
    }

    private async Task<string> ReadUntilClosedAsync(CancellationToken cancellationToken)
    {
        using var received = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await _stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (IOException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            // Closed with our unread bytes in its buffer.
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or IOException && cancellationToken.IsCancellationRequested)
        {
            // Disposed by the test before the server closed it.
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }
}
