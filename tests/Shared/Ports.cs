using System.Net;
using System.Net.Sockets;

namespace Drover.Testing;

internal static class Ports
{
    private static readonly Lock Gate = new();

    /// <summary>Every port handed out in this test run: the kernel may offer a port again once its listener closed.</summary>
    private static readonly HashSet<int> HandedOut = [];

    /// <summary>
    /// A loopback port free right now (the kernel's choice), for a process that needs it on its command
    /// line; never one handed out before in this run, so two ports asked for in a row (an aggregator's
    /// HTTP and link ports) are never the same.
    /// </summary>
    public static int Free()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            lock (Gate)
            {
                if (HandedOut.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
