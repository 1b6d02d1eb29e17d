using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Drover.Aggregator.Balancers.Haproxy;

namespace Drover.Aggregator.Tests.Balancers.Haproxy;

/// <summary>
/// A stand-in for HAProxy's Runtime API on a Unix socket in a temp directory, speaking its non-interactive
/// mode: reads one line, answers with whatever <c>respond</c> returns for it, and closes. A null answer keeps
/// the connection open and silent until the fake is disposed. Records every command it received.
/// </summary>
internal sealed class FakeRuntimeApi : IAsyncDisposable
{
    private readonly Func<string, string?> _respond;
    private readonly DirectoryInfo _directory;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private readonly ConcurrentQueue<string> _commands = new();
    private readonly Channel<string> _arrivals = Channel.CreateUnbounded<string>();

    public FakeRuntimeApi(Func<string, string?> respond)
    {
        _respond = respond;
        _directory = Directory.CreateTempSubdirectory("drover-fake-haproxy-");
        SocketPath = Path.Combine(_directory.FullName, "admin.sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(16);
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>A fake that answers every command with the same text.</summary>
    public FakeRuntimeApi(string reply)
        : this(_ => reply)
    {
    }

    public string SocketPath { get; }

    public HaproxyAddress Address => HaproxyAddress.Parse("unix:" + SocketPath);

    /// <summary>The commands received so far, without their newlines, in order.</summary>
    public IReadOnlyList<string> Commands => [.. _commands];

    public HaproxyRuntimeClient Client(TimeSpan? timeout = null, TimeProvider? time = null)
        => new(Address, timeout ?? TimeSpan.FromSeconds(10), time);

    /// <summary>Waits for the next command to arrive (bounded, so a test that waits in vain fails).</summary>
    public async Task<string> NextCommandAsync()
        => await _arrivals.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        try
        {
            await _acceptLoop.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
        _directory.Delete(recursive: true);
    }

    private async Task AcceptLoopAsync()
    {
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                var connection = await _listener.AcceptAsync(_stop.Token);
                connections.Add(ServeAsync(connection));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        await Task.WhenAll(connections);
    }

    private async Task ServeAsync(Socket connection)
    {
        using (connection)
        {
            try
            {
                var line = await ReadLineAsync(connection);
                _commands.Enqueue(line);
                var reply = _respond(line);
                _arrivals.Writer.TryWrite(line);
                if (reply is null)
                {
                    await Task.Delay(Timeout.Infinite, _stop.Token);
                    return;
                }

                await connection.SendAsync(Encoding.UTF8.GetBytes(reply), SocketFlags.None, _stop.Token);
                connection.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // The client gave up (timeout, reply too long) or the fake is stopping.
            }
        }
    }

    private async Task<string> ReadLineAsync(Socket connection)
    {
        var line = new List<byte>();
        var one = new byte[1];
        while (await connection.ReceiveAsync(one, SocketFlags.None, _stop.Token) == 1 && one[0] != (byte)'\n')
        {
            line.Add(one[0]);
        }

        return Encoding.UTF8.GetString([.. line]);
    }
}
