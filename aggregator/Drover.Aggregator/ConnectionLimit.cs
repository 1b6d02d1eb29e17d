using Microsoft.AspNetCore.Connections;

namespace Drover.Aggregator;

/// <summary>
/// Caps the connections one listener holds at once. Kestrel's own <c>Limits.MaxConcurrentConnections</c>
/// takes one number for every listener; the HTTP port (clients, the gateway) and the link port (one
/// connection per agent) want their own, so each listener gets one of these as connection middleware.
/// A connection beyond the cap is closed as soon as it is accepted, before any byte is read.
/// </summary>
internal sealed partial class ConnectionLimit
{
    private readonly string _listener;
    private readonly int _max;
    private readonly ILogger _logger;
    private int _open;
    private int _full;

    public ConnectionLimit(string listener, int max, ILogger logger)
    {
        _listener = listener;
        _max = max;
        _logger = logger;
    }

    /// <summary>How many connections the listener holds now.</summary>
    public int Open => Volatile.Read(ref _open);

    public ConnectionDelegate Wrap(ConnectionDelegate next) => async connection =>
    {
        if (Interlocked.Increment(ref _open) > _max)
        {
            Interlocked.Decrement(ref _open);
            if (Interlocked.Exchange(ref _full, 1) == 0)
            {
                // Once per time the port fills up, not once per refused connection: a flood must not fill the log.
                Log.Refused(_logger, _listener, _max, connection.RemoteEndPoint?.ToString() ?? "");
            }

            connection.Abort(new ConnectionAbortedException($"the {_listener} port holds its most connections ({_max})"));
            return;
        }

        Volatile.Write(ref _full, 0);
        try
        {
            await next(connection);
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 1015, EventName = "ConnectionRefused", Level = LogLevel.Warning,
            Message = "A connection from '{Peer}' to the {Listener} port was closed: the port already holds {Max} connections, the most allowed. Further refusals are not logged until a connection is accepted again.")]
        public static partial void Refused(ILogger logger, string listener, int max, string peer);
    }
}
