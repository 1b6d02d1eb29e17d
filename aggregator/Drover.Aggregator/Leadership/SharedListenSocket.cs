using System.Net;
using System.Net.Sockets;

namespace Drover.Aggregator.Leadership;

/// <summary>
/// Listening sockets with SO_REUSEPORT, for an aggregator among several on PostgreSQL: the follower's application
/// keeps its ports open while the leading application it becomes opens them too, and the kernel spreads new
/// connections over both until the follower's closes, so its gateway and API never refuse a connection during the
/// hand-over. SO_REUSEPORT lets only processes of the same user share the port.
/// </summary>
internal static class SharedListenSocket
{
    private const int SolSocket = 1;
    private const int SoReusePort = 15;

    public static Socket Bind(EndPoint endpoint)
    {
        if (endpoint is not IPEndPoint ip)
        {
            throw new NotSupportedException($"the aggregator listens on IP addresses only, not {endpoint}");
        }

        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (ip.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
            socket.Bind(ip);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
