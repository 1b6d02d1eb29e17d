using System.Net;
using System.Net.Sockets;

namespace Drover.SystemTests.Infrastructure;

/// <summary>
/// A loopback TCP proxy between a process and a server (PostgreSQL) that a test can cut like a network partition:
/// until <see cref="Blackhole"/> it forwards every connection both ways; from then on every byte either way vanishes,
/// on the connections already open and on those accepted later, which are never forwarded. Nothing is closed or reset:
/// each side sees a peer that went silent, as across a partition where packets are dropped (not a refused or reset
/// connection, which a client notices at once). <see cref="DisposeAsync"/> closes everything.
/// </summary>
internal sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _sockets = [];
    private readonly List<Task> _connections = [];
    private readonly Task _accepting;
    private volatile bool _blackholed;

    /// <param name="targetPort">The loopback port every connection is forwarded to.</param>
    public TcpProxy(int targetPort)
    {
        _target = new IPEndPoint(IPAddress.Loopback, targetPort);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    /// <summary>The loopback port clients connect to instead of the target's.</summary>
    public int Port { get; }

    /// <summary>Whether <see cref="Blackhole"/> was called.</summary>
    public bool Blackholed => _blackholed;

    /// <summary>From now on no byte is forwarded either way, and no connection is closed: the partition begins.</summary>
    public void Blackhole() => _blackholed = true;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] connections;
        lock (_sockets)
        {
            _sockets.ForEach(s => s.Dispose());
            connections = [.. _connections];
        }

        await Task.WhenAll(connections);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (_sockets)
            {
                if (_stop.IsCancellationRequested)
                {
                    client.Dispose();
                    return;
                }

                _sockets.Add(client);
                _connections.RemoveAll(c => c.IsCompleted);
                _connections.Add(Task.Run(() => ServeAsync(client)));
            }
        }
    }

    private async Task ServeAsync(Socket client)
    {
        if (_blackholed)
        {
            // Accepted (the kernel completed the handshake) but never forwarded: whatever the client sends vanishes.
            await PumpAsync(client, null);
            return;
        }

        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        lock (_sockets)
        {
            _sockets.Add(server);
        }

        try
        {
            await server.ConnectAsync(_target, _stop.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The server refused (it is down): so is the client, as it would be without the proxy.
            client.Dispose();
            server.Dispose();
            return;
        }

        client.NoDelay = true;
        await Task.WhenAll(PumpAsync(client, server), PumpAsync(server, client));

        // Both sides closed (a blackholed connection stays open until the proxy is disposed).
        lock (_sockets)
        {
            _sockets.Remove(client);
            _sockets.Remove(server);
        }

        client.Dispose();
        server.Dispose();
    }

    /// <summary>Copies <paramref name="from"/> to <paramref name="to"/> until either closes, dropping every byte once blackholed (or always, with no <paramref name="to"/>).</summary>
    private async Task PumpAsync(Socket from, Socket? to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (_blackholed || to is null)
                {
                    if (read == 0)
                    {
                        return; // a close vanishes too: the other side is left waiting
                    }

                    continue;
                }

                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            if (!_blackholed && !_stop.IsCancellationRequested)
            {
                // A reset before the partition is passed on, as the network would.
                from.Dispose();
                to?.Dispose();
            }
        }
    }
}
