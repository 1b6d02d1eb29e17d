using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Drover.Aggregator.Balancers.Haproxy;

/// <summary>
/// Where HAProxy's Runtime API listens: <c>unix:/run/haproxy/admin.sock</c> for a <c>stats socket &lt;path&gt;</c>
/// line, or <c>tcp:&lt;host&gt;:&lt;port&gt;</c> (<c>tcp:127.0.0.1:9999</c>, <c>tcp:[::1]:9999</c>,
/// <c>tcp:lb1.example.net:9999</c>) for <c>stats socket ipv4@127.0.0.1:9999</c>. Every instance is valid:
/// the constructor checks <paramref name="Raw"/> as <see cref="Parse"/> does and throws <see cref="FormatException"/>.
/// </summary>
internal sealed record HaproxyAddress(string Raw)
{
    public const string UnixScheme = "unix:";
    public const string TcpScheme = "tcp:";

    /// <summary>Linux's <c>sun_path</c> holds 108 bytes, the terminating NUL included.</summary>
    public const int MaxSocketPathBytes = 107;

    private const string Accepted =
        "accepted: 'unix:<absolute socket path>' or 'tcp:<host>:<port>', e.g. 'unix:/run/haproxy/admin.sock', 'tcp:127.0.0.1:9999', 'tcp:[::1]:9999'";

    // Computed once from Raw; Raw has no init accessor, so a `with` cannot pair one Raw with another's parts.
    private readonly (string? SocketPath, string? Host, int Port) _parts = ParseParts(Raw);

    /// <summary>The value as given, e.g. <c>unix:/run/haproxy/admin.sock</c>.</summary>
    public string Raw { get; } = Raw;

    /// <summary>The Unix socket's path for a <c>unix:</c> address; null for <c>tcp:</c>.</summary>
    public string? SocketPath => _parts.SocketPath;

    /// <summary>The host for a <c>tcp:</c> address (an IPv6 address without its brackets); null for <c>unix:</c>.</summary>
    public string? Host => _parts.Host;

    /// <summary>The TCP port for a <c>tcp:</c> address; 0 for <c>unix:</c>.</summary>
    public int Port => _parts.Port;

    public static HaproxyAddress Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new HaproxyAddress(value);
    }

    public static bool TryParse(string value, [NotNullWhen(true)] out HaproxyAddress? address, [NotNullWhen(false)] out string? error)
    {
        if (TryParseParts(value, out _, out error))
        {
            address = new HaproxyAddress(value);
            return true;
        }

        address = null;
        return false;
    }

    public override string ToString() => Raw;

    /// <summary>A new, unconnected stream socket of the family this address needs.</summary>
    internal Socket CreateSocket()
        => SocketPath is not null
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : IPAddress.TryParse(Host, out var ip)
                ? new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
                : new Socket(SocketType.Stream, ProtocolType.Tcp);

    /// <summary>The endpoint to connect <see cref="CreateSocket"/>'s socket to; a host name is resolved on connect.</summary>
    internal EndPoint CreateEndPoint()
        => SocketPath is not null
            ? new UnixDomainSocketEndPoint(SocketPath)
            : IPAddress.TryParse(Host, out var ip)
                ? new IPEndPoint(ip, Port)
                : new DnsEndPoint(Host!, Port);

    private static (string? SocketPath, string? Host, int Port) ParseParts(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return TryParseParts(value, out var parts, out var error) ? parts : throw new FormatException(error);
    }

    private static bool TryParseParts(string? value, out (string? SocketPath, string? Host, int Port) parts, [NotNullWhen(false)] out string? error)
    {
        parts = default;
        error = value is null ? $"The HAProxy Runtime API address is missing; {Accepted}." : Check(value, ref parts);
        return error is null;
    }

    /// <summary>Null when <paramref name="value"/> is good (and <paramref name="parts"/> set), otherwise the whole error message.</summary>
    private static string? Check(string value, ref (string? SocketPath, string? Host, int Port) parts)
    {
        string Bad(string reason) => $"'{HaproxyText.Printable(value)}' is not a HAProxy Runtime API address: {reason}; {Accepted}.";

        if (value.Any(char.IsControl))
        {
            return Bad("it contains a control character");
        }

        if (value.StartsWith(UnixScheme, StringComparison.Ordinal))
        {
            var path = value[UnixScheme.Length..];
            if (!path.StartsWith('/'))
            {
                return Bad("the socket path must be absolute");
            }

            if (Encoding.UTF8.GetByteCount(path) > MaxSocketPathBytes)
            {
                return Bad($"the socket path is longer than {MaxSocketPathBytes} bytes, the most a Unix socket address holds");
            }

            parts = (path, null, 0);
            return null;
        }

        if (!value.StartsWith(TcpScheme, StringComparison.Ordinal))
        {
            return Bad("it starts with neither 'unix:' nor 'tcp:'");
        }

        var rest = value[TcpScheme.Length..];
        var colon = rest.LastIndexOf(':');
        if (colon < 0)
        {
            return Bad("the port is missing");
        }

        var host = rest[..colon];
        var portText = rest[(colon + 1)..];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                return Bad("the part in brackets is not an IPv6 address");
            }
        }
        else if (host.Contains(':', StringComparison.Ordinal))
        {
            return Bad("an IPv6 host goes in brackets");
        }
        else if (Uri.CheckHostName(host) == UriHostNameType.Unknown)
        {
            return Bad("the host is neither an IP address nor a host name");
        }

        if (portText.Length is 0 or > 5
            || !portText.All(char.IsAsciiDigit)
            || !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port is < 1 or > 65535)
        {
            return Bad("the port must be a number from 1 to 65535");
        }

        parts = (null, host, port);
        return null;
    }
}
