using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Drover.Aggregator.Balancers.Haproxy;

/// <summary>
/// A client of HAProxy's Runtime API (the <c>stats socket</c>), written against HAProxy 2.6. Each command is one
/// connection in HAProxy's non-interactive mode: the command and a newline are written, and the reply is everything
/// read until HAProxy closes. The timeout bounds connect, write and read together; a reply over
/// <see cref="MaxReplyBytes"/> is an error. Write commands need a socket at <c>level admin</c>
/// (HAProxy answers <c>Permission denied</c> otherwise).
/// </summary>
/// <remarks>
/// Names are checked before anything is sent (<see cref="CheckName"/>), so that no name can carry a second command:
/// HAProxy splits a line at <c>;</c> and ends it at a newline. Every failure is a <see cref="HaproxyRuntimeException"/>
/// naming the address, the command and the reply; a bad argument is an <see cref="ArgumentException"/>; the caller's
/// own cancellation is an <see cref="OperationCanceledException"/>.
/// </remarks>
internal sealed class HaproxyRuntimeClient
{
    /// <summary>The most a reply may hold; <c>show servers state</c> prints about 90 bytes a server.</summary>
    public const int MaxReplyBytes = 1024 * 1024;

    /// <summary>The highest server weight HAProxy takes.</summary>
    public const int MaxWeight = 256;

    /// <summary>The longest backend or server name this client sends (HAProxy itself sets no limit).</summary>
    public const int MaxNameLength = 64;

    /// <summary>What <c>add server</c> answers on success (HAProxy 2.6).</summary>
    public const string ServerAddedReply = "New server registered.";

    /// <summary>What <c>del server</c> answers on success (HAProxy 2.6).</summary>
    public const string ServerDeletedReply = "Server deleted.";

    private static readonly TimeSpan MaxTimeout = TimeSpan.FromHours(1);

    private readonly TimeProvider _time;

    /// <param name="address">Where the Runtime API listens.</param>
    /// <param name="timeout">The most one command may take, connect to close; more than zero, at most an hour.</param>
    /// <param name="time">The clock behind the timeout; a seam for tests, the system clock otherwise.</param>
    public HaproxyRuntimeClient(HaproxyAddress address, TimeSpan timeout, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(timeout, MaxTimeout);
        Address = address;
        Timeout = timeout;
        _time = time ?? TimeProvider.System;
    }

    public HaproxyAddress Address { get; }

    public TimeSpan Timeout { get; }

    /// <summary>
    /// <c>show servers state &lt;backend&gt;</c>: the backend's servers, in HAProxy's order; empty when it has none.
    /// An unknown backend (HAProxy answers <c>Can't find backend.</c>) or an unreadable reply is a <see cref="HaproxyRuntimeException"/>.
    /// </summary>
    public async Task<IReadOnlyList<HaproxyServer>> ShowServersAsync(string backend, CancellationToken cancellationToken)
    {
        CheckName(backend, "backend", nameof(backend));
        var command = $"show servers state {backend}";
        var reply = await SendAsync(command, cancellationToken);
        try
        {
            return HaproxyServersState.Parse(reply);
        }
        catch (FormatException e)
        {
            throw Failure(command, reply, $"a reply that is not a server state dump ({e.Message})", e);
        }
    }

    /// <summary><c>set server &lt;backend&gt;/&lt;server&gt; weight &lt;weight&gt;</c>: the weight in force (<c>srv_uweight</c>), 0 to 256.</summary>
    public Task SetWeightAsync(string backend, string server, int weight, CancellationToken cancellationToken)
    {
        CheckName(backend, "backend", nameof(backend));
        CheckName(server, "server", nameof(server));
        ArgumentOutOfRangeException.ThrowIfNegative(weight);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(weight, MaxWeight);
        return ExpectAsync(string.Create(CultureInfo.InvariantCulture, $"set server {backend}/{server} weight {weight}"), "", cancellationToken);
    }

    /// <summary><c>set server &lt;backend&gt;/&lt;server&gt; state ready|drain|maint</c>.</summary>
    public Task SetAdminAsync(string backend, string server, HaproxyServerAdmin state, CancellationToken cancellationToken)
    {
        CheckName(backend, "backend", nameof(backend));
        CheckName(server, "server", nameof(server));
        var word = state switch
        {
            HaproxyServerAdmin.Ready => "ready",
            HaproxyServerAdmin.Drain => "drain",
            HaproxyServerAdmin.Maint => "maint",
            _ => throw new ArgumentOutOfRangeException(nameof(state), state, "Accepted: Ready, Drain, Maint."),
        };
        return ExpectAsync($"set server {backend}/{server} state {word}", "", cancellationToken);
    }

    /// <summary>
    /// <c>add server &lt;backend&gt;/&lt;server&gt; &lt;address&gt;:&lt;port&gt; weight &lt;weight&gt; enabled</c>: a dynamic
    /// server, ready at once, without health checks.
    /// </summary>
    /// <remarks>
    /// What HAProxy requires: version 2.4 or later (2.4 also wants <c>experimental-mode on</c> on the same connection;
    /// 2.5 and later, 2.6 included, do not, checked on 2.6.12); a backend with a dynamic balance algorithm
    /// (<c>roundrobin</c>, <c>leastconn</c>, <c>random</c>, …, not <c>static-rr</c> or hashing: HAProxy answers
    /// <c>Backend must use a dynamic load balancing to support dynamic servers.</c>); a name not used in the backend;
    /// a socket at <c>level admin</c>. Without <c>enabled</c> HAProxy creates the server in maintenance.
    /// A dynamic server is not written to the configuration file: a reload forgets it.
    /// <paramref name="address"/> must be an IP address (a dynamic server never resolves a host name);
    /// IPv6 is sent in brackets.
    /// </remarks>
    public Task AddServerAsync(string backend, string server, string address, int port, int weight, CancellationToken cancellationToken)
    {
        CheckName(backend, "backend", nameof(backend));
        CheckName(server, "server", nameof(server));
        var ip = CheckIpAddress(address, nameof(address));
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        ArgumentOutOfRangeException.ThrowIfNegative(weight);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(weight, MaxWeight);
        var host = ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString();
        return ExpectAsync(
            string.Create(CultureInfo.InvariantCulture, $"add server {backend}/{server} {host}:{port} weight {weight} enabled"),
            ServerAddedReply,
            cancellationToken);
    }

    /// <summary>
    /// Puts the server in maintenance (<c>set server … state maint</c>), which HAProxy requires first, then
    /// <c>del server &lt;backend&gt;/&lt;server&gt;</c>. HAProxy refuses while the server still has connections
    /// (drain it first) or is referenced elsewhere in the configuration (<c>track</c>, <c>use-server</c>);
    /// the server then stays in maintenance.
    /// </summary>
    public async Task DelServerAsync(string backend, string server, CancellationToken cancellationToken)
    {
        await SetAdminAsync(backend, server, HaproxyServerAdmin.Maint, cancellationToken);
        await ExpectAsync($"del server {backend}/{server}", ServerDeletedReply, cancellationToken);
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> unless <paramref name="name"/> is 1 to <see cref="MaxNameLength"/>
    /// characters of <c>A-Z a-z 0-9 . _ : -</c>, the characters HAProxy allows in proxy and server names: no
    /// space, <c>;</c>, <c>\</c>, <c>/</c> or line break, so it can neither split the command nor add another.
    /// </summary>
    internal static void CheckName(string name, string what, string parameter)
    {
        ArgumentNullException.ThrowIfNull(name, parameter);
        if (name.Length is 0 or > MaxNameLength || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '-'))
        {
            throw new ArgumentException(
                $"'{HaproxyText.Printable(name)}' is not a usable HAProxy {what} name; accepted: 1 to {MaxNameLength} characters of A-Z, a-z, 0-9, '.', '_', ':', '-'.",
                parameter);
        }
    }

    private static IPAddress CheckIpAddress(string address, string parameter)
    {
        ArgumentNullException.ThrowIfNull(address, parameter);

        // IPAddress also reads "1", "127.1", "0x7f.0.0.1", "[::1]" and "fe80::1%eth0"; HAProxy reads the dotted
        // quad, so IPv4 must already be in that form; IPv6 goes bare (the brackets are added here), without a scope.
        if (IPAddress.TryParse(address, out var ip)
            && ((ip.AddressFamily == AddressFamily.InterNetwork && ip.ToString() == address)
                || (ip.AddressFamily == AddressFamily.InterNetworkV6 && address.All(c => char.IsAsciiHexDigit(c) || c is ':' or '.'))))
        {
            return ip;
        }

        throw new ArgumentException(
            $"'{HaproxyText.Printable(address)}' is not a server address HAProxy can take; accepted: an IPv4 address in dotted-quad form or an IPv6 address without brackets or scope.",
            parameter);
    }

    /// <summary>Sends <paramref name="command"/> and throws unless the reply, trimmed, is <paramref name="expected"/>.</summary>
    private async Task ExpectAsync(string command, string expected, CancellationToken cancellationToken)
    {
        var reply = await SendAsync(command, cancellationToken);
        if (reply.Trim() != expected)
        {
            throw Failure(command, reply, expected.Length == 0 ? "an error" : $"something other than '{expected}'");
        }
    }

    /// <summary>One command on one connection: connect, write it with its newline, read until HAProxy closes.</summary>
    private async Task<string> SendAsync(string command, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        using var received = new MemoryStream();
        try
        {
            using var socket = Address.CreateSocket();
            try
            {
                await socket.ConnectAsync(Address.CreateEndPoint(), linked.Token);
            }
            catch (SocketException e) when (!timeout.IsCancellationRequested)
            {
                throw new HaproxyRuntimeException(
                    $"HAProxy's Runtime API at '{Address}' could not be reached to send '{command}': {e.SocketErrorCode} ({e.Message}).",
                    command,
                    reply: null,
                    e);
            }

            await socket.SendAsync(Encoding.ASCII.GetBytes(command + "\n"), SocketFlags.None, linked.Token);
            var buffer = new byte[16 * 1024];
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, linked.Token);
                if (read == 0)
                {
                    break;
                }

                if (received.Length + read > MaxReplyBytes)
                {
                    received.Write(buffer, 0, read);
                    throw Failure(command, Decode(received), $"a reply longer than {MaxReplyBytes} bytes, the most this client reads");
                }

                received.Write(buffer, 0, read);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException
            && timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new HaproxyRuntimeException(
                $"HAProxy's Runtime API at '{Address}' did not complete '{command}' within {Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s; "
                    + $"received so far: '{HaproxyText.Printable(Decode(received))}'.",
                command,
                reply: null,
                e);
        }
        catch (SocketException e)
        {
            throw new HaproxyRuntimeException(
                $"HAProxy's Runtime API at '{Address}' failed during '{command}': {e.SocketErrorCode} ({e.Message}); received so far: '{HaproxyText.Printable(Decode(received))}'.",
                command,
                reply: null,
                e);
        }

        return Decode(received);
    }

    private static string Decode(MemoryStream received) => Encoding.UTF8.GetString(received.GetBuffer(), 0, (int)received.Length);

    private HaproxyRuntimeException Failure(string command, string reply, string what, Exception? inner = null)
        => new(
            $"HAProxy's Runtime API at '{Address}' answered '{command}' with {what}: '{HaproxyText.Printable(reply.Trim())}'.",
            command,
            reply,
            inner);
}
