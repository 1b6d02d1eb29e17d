using System.Net;
using System.Net.Sockets;

namespace Drover.SystemTests.Infrastructure;

internal static class Ports
{
    /// <summary>A loopback port free right now (the kernel's choice), for a process that needs it on its command line.</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
