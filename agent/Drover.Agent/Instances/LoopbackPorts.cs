using System.Net;
using System.Net.Sockets;

namespace Drover.Agent.Instances;

/// <summary>
/// The loopback ports instances listen on. A port is chosen by binding port 0 and letting it go, so until the
/// instance binds it, another process on the host (another agent, anything) may be handed the same one; an
/// instance is therefore given a new port when it would start on one that something else now listens on.
/// </summary>
internal static class LoopbackPorts
{
    /// <summary>A loopback port free now.</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Whether a listener elsewhere holds <paramref name="port"/> on loopback: a bind with address reuse (as Kestrel
    /// and most servers bind, so connections of an earlier process in TIME_WAIT do not count) is refused.
    /// </summary>
    public static bool TakenByAnother(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return false;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return true;
        }
    }
}
