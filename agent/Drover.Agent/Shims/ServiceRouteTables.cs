using System.Collections.Concurrent;
using Drover.Protocol;
using Drover.Protocol.Specs;
using Drover.Protocol.V1;

namespace Drover.Agent.Shims;

/// <summary>
/// The services' routing tables the aggregator sent (SetServiceRoutes), and how many requests this
/// node has in flight to each route's instance (for the balancing policies).
/// </summary>
internal sealed partial class ServiceRouteTables
{
    public const int MaxRoutes = 1024;
    public const int MaxEventHeaders = SpecLimits.MaxEventHeaders;

    private readonly ConcurrentDictionary<string, ServiceRouteTable> _tables = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly ILogger<ServiceRouteTables> _logger;

    public ServiceRouteTables(ILogger<ServiceRouteTables> logger) => _logger = logger;

    public ServiceRouteTable? Find(string service) => _tables.GetValueOrDefault(service);

    /// <summary>Takes a table (or forgets one); null when done, else why not. An older version than the one held is ignored.</summary>
    public string? Apply(SetServiceRoutes routes)
    {
        if (Validate(routes) is { } invalid)
        {
            return invalid;
        }

        lock (_lock)
        {
            if (_tables.TryGetValue(routes.Service, out var held) && routes.RoutesVersion < held.Version)
            {
                Log.Stale(_logger, routes.Service, routes.RoutesVersion, held.Version);
                return null;
            }

            if (routes.Removed)
            {
                _tables.TryRemove(routes.Service, out _);
                Log.Removed(_logger, routes.Service, routes.RoutesVersion);
                return null;
            }

            _tables[routes.Service] = new ServiceRouteTable(routes);
            Log.Applied(_logger, routes.Service, routes.RoutesVersion, routes.Routes.Count);
            return null;
        }
    }

    public int InFlight(string instanceId) => _inFlight.GetValueOrDefault(instanceId);

    public void Enter(string instanceId) => _inFlight.AddOrUpdate(instanceId, 1, (_, n) => n + 1);

    public void Exit(string instanceId) => _inFlight.AddOrUpdate(instanceId, 0, (_, n) => Math.Max(0, n - 1));

    public static string? Validate(SetServiceRoutes routes)
    {
        if (!Names.IsName(routes.Service))
        {
            return $"service = '{routes.Service}'; expected 1-63 characters of a-z 0-9 -";
        }

        if (routes.Routes.Count > MaxRoutes)
        {
            return $"routes has {routes.Routes.Count} entries; expected at most {MaxRoutes}";
        }

        if (routes.EventHeaders.Count > MaxEventHeaders)
        {
            return $"eventHeaders has {routes.EventHeaders.Count} entries; expected at most {MaxEventHeaders}";
        }

        if (!SpecLimits.AreKeyHashes(routes.KeySha256))
        {
            return $"keySha256: expected at most {SpecLimits.MaxInvocationKeys} SHA-256 hashes of 64 lowercase hexadecimal digits";
        }

        if (routes.RoutingField is { } field
            && (field.SourceCase == RoutingField.SourceOneofCase.None
                || (field.SourceCase == RoutingField.SourceOneofCase.Header ? field.Header : field.JsonField).Length is 0 or > 256))
        {
            return "routingField: expected a header name or a JSON field name of 1-256 characters";
        }

        foreach (var route in routes.Routes)
        {
            if (!Names.IsId(route.InstanceId))
            {
                return $"routes: instance id '{route.InstanceId}' is not an id; expected 1-64 characters of A-Z a-z 0-9 . _ -";
            }

            if (!Names.IsId(route.NodeId))
            {
                return $"routes: node id '{route.NodeId}' of instance '{route.InstanceId}' is not an id";
            }

            if (route.Address.Length is 0 or > 262 || !Uri.TryCreate($"http://{route.Address}/", UriKind.Absolute, out var uri) || uri.AbsolutePath != "/")
            {
                return $"routes: address '{route.Address}' of instance '{route.InstanceId}'; expected host:port";
            }
        }

        return null;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, EventName = "ServiceRoutesApplied", Level = LogLevel.Information,
            Message = "Service '{Service}' routes version {Version} applied ({Count} routes).")]
        public static partial void Applied(ILogger logger, string service, ulong version, int count);

        [LoggerMessage(EventId = 3002, EventName = "ServiceRoutesStale", Level = LogLevel.Information,
            Message = "Service '{Service}' routes version {Version} ignored: version {Held} is held already.")]
        public static partial void Stale(ILogger logger, string service, ulong version, ulong held);

        [LoggerMessage(EventId = 3003, EventName = "ServiceRoutesRemoved", Level = LogLevel.Information,
            Message = "Service '{Service}' removed (routes version {Version}); its table is forgotten.")]
        public static partial void Removed(ILogger logger, string service, ulong version);
    }
}
