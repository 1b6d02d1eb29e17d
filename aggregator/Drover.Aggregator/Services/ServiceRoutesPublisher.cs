using Drover.Aggregator.Link;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Services;

/// <summary>
/// Keeps every connected node's routing table of every service in step: a changed table gets a new
/// version and is sent to each node until that node acknowledges it (again to a node that connects
/// later). The only code that sends SetServiceRoutes.
/// </summary>
internal sealed partial class ServiceRoutesPublisher
{
    /// <summary>How long a node may take to acknowledge a table before it is sent again.</summary>
    public static readonly TimeSpan ResendAfter = TimeSpan.FromSeconds(2);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Table> _tables = new(StringComparer.Ordinal);
    private readonly AgentConnections _connections;
    private readonly CommandResults _results;
    private readonly TimeProvider _time;
    private readonly ILogger<ServiceRoutesPublisher> _logger;
    private ulong _lastVersion;

    public ServiceRoutesPublisher(AgentConnections connections, CommandResults results, TimeProvider time, ILogger<ServiceRoutesPublisher> logger)
    {
        _connections = connections;
        _results = results;
        _time = time;
        _logger = logger;
    }

    /// <summary>Raised when a node acknowledges a table: a rollout waiting for it can go on.</summary>
    public event Action? Acknowledged;

    /// <summary>The services with a table (removed ones until every node has forgotten them).</summary>
    public IReadOnlyList<string> Services
    {
        get
        {
            lock (_gate)
            {
                return _tables.Keys.ToArray();
            }
        }
    }

    /// <summary>The service's current table as the API shows it: its version, the instances it routes to, and the nodes that applied it on their current stream.</summary>
    public (ulong Version, IReadOnlyList<string> Instances, IReadOnlyList<string> AppliedBy)? Status(string service)
    {
        lock (_gate)
        {
            if (!_tables.TryGetValue(service, out var table))
            {
                return null;
            }

            return (
                table.Routes.RoutesVersion,
                table.Routes.Routes.Select(r => r.InstanceId).ToArray(),
                table.Acknowledged.Keys.Where(n => Applied(table, n)).Order(StringComparer.Ordinal).ToArray());
        }
    }

    /// <summary>The instance ids the service's current table routes to.</summary>
    public IReadOnlySet<string> Routes(string service)
    {
        lock (_gate)
        {
            return _tables.TryGetValue(service, out var table)
                ? table.Routes.Routes.Select(r => r.InstanceId).ToHashSet(StringComparer.Ordinal)
                : new HashSet<string>(StringComparer.Ordinal);
        }
    }

    /// <summary>Makes <paramref name="routes"/> the service's table; a new version only when it differs from the current one.</summary>
    public void Publish(SetServiceRoutes routes)
    {
        lock (_gate)
        {
            if (_tables.TryGetValue(routes.Service, out var current) && SameRoutes(current.Routes, routes))
            {
                return;
            }

            // Versions outlive an aggregator restart (agents ignore a table older than theirs): at
            // least the wall clock's milliseconds, and always more than the last.
            _lastVersion = Math.Max(_lastVersion + 1, (ulong)_time.GetUtcNow().ToUnixTimeMilliseconds());
            var table = routes.Clone();
            table.RoutesVersion = _lastVersion;
            _tables[routes.Service] = new Table(table);
            Log.Published(_logger, routes.Service, table.RoutesVersion, table.Removed ? "removed" : string.Join(", ", table.Routes.Select(r => r.InstanceId)));
        }
    }

    /// <summary>Tells every node to forget the service's table.</summary>
    public void Remove(string service)
    {
        lock (_gate)
        {
            if (_tables.TryGetValue(service, out var current) && current.Routes.Removed)
            {
                return;
            }
        }

        Publish(new SetServiceRoutes { Service = service, Removed = true });
    }

    /// <summary>
    /// Whether every node in <paramref name="nodes"/> has applied the service's current table on the
    /// stream it has now. A node without a stream has not (it may still route by the table it had),
    /// and neither has any node while no table was published yet.
    /// </summary>
    public bool IsAcknowledged(string service, IReadOnlyCollection<string> nodes)
    {
        lock (_gate)
        {
            return _tables.TryGetValue(service, out var table) && nodes.All(n => Applied(table, n));
        }
    }

    /// <summary>Sends each table to the connected nodes that have not acknowledged it (not more often than <see cref="ResendAfter"/>); forgets removed tables every node applied.</summary>
    public void Flush(IReadOnlyCollection<string> connectedNodes)
    {
        var now = _time.GetTimestamp();
        var sends = new List<(string NodeId, Guid Stream, Command Command)>();
        lock (_gate)
        {
            foreach (var (service, table) in _tables.ToArray())
            {
                if (table.Routes.Removed && connectedNodes.All(n => Applied(table, n)))
                {
                    _tables.Remove(service);
                    continue;
                }

                foreach (var node in connectedNodes)
                {
                    // Keyed by stream: a reconnected agent (a restarted one holds no table) gets it again at once.
                    var stream = _connections.StreamOf(node);
                    var recentlySent = table.SentAt.TryGetValue(node, out var sentAt) && sentAt.Version == table.Routes.RoutesVersion && sentAt.Stream == stream && _time.GetElapsedTime(sentAt.At, now) < ResendAfter;
                    if (stream is null || Applied(table, node) || recentlySent)
                    {
                        continue;
                    }

                    table.SentAt[node] = (table.Routes.RoutesVersion, stream.Value, now);
                    sends.Add((node, stream.Value, new Command { CommandId = Guid.NewGuid().ToString("N"), SetServiceRoutes = table.Routes }));
                }
            }
        }

        foreach (var (node, stream, command) in sends)
        {
            var routes = command.SetServiceRoutes;
            _results.Expect(command.CommandId, node, result => OnResult(node, stream, routes, result));
            _connections.TrySend(node, command);
        }
    }

    private void OnResult(string nodeId, Guid stream, SetServiceRoutes routes, CommandResult result)
    {
        if (!result.Ok)
        {
            Log.Refused(_logger, nodeId, routes.Service, routes.RoutesVersion, result.Error);
            return;
        }

        lock (_gate)
        {
            if (_tables.TryGetValue(routes.Service, out var table)
                && (!table.Acknowledged.TryGetValue(nodeId, out var had) || had.Stream != stream || had.Version < routes.RoutesVersion))
            {
                table.Acknowledged[nodeId] = (stream, routes.RoutesVersion);
            }
        }

        Acknowledged?.Invoke();
    }

    /// <summary>Whether the node applied the table on the stream it has now.</summary>
    private bool Applied(Table table, string nodeId)
        => table.Acknowledged.TryGetValue(nodeId, out var applied)
           && applied.Version >= table.Routes.RoutesVersion
           && applied.Stream == _connections.StreamOf(nodeId);

    private static bool SameRoutes(SetServiceRoutes current, SetServiceRoutes next)
    {
        var a = current.Clone();
        a.RoutesVersion = 0;
        return a.Equals(next);
    }

    private sealed class Table(SetServiceRoutes routes)
    {
        public SetServiceRoutes Routes { get; } = routes;

        public Dictionary<string, (Guid Stream, ulong Version)> Acknowledged { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, (ulong Version, Guid Stream, long At)> SentAt { get; } = new(StringComparer.Ordinal);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1601, EventName = "ServiceRoutesPublished", Level = LogLevel.Information,
            Message = "Service '{Service}' routes version {Version}: {Routes}.")]
        public static partial void Published(ILogger logger, string service, ulong version, string routes);

        [LoggerMessage(EventId = 1602, EventName = "ServiceRoutesRefused", Level = LogLevel.Warning,
            Message = "Node '{NodeId}' did not apply routes version {Version} of service '{Service}': {Error}")]
        public static partial void Refused(ILogger logger, string nodeId, string service, ulong version, string error);
    }
}
