using System.Net;
using Drover.Decisions.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace Drover.Gateway;

/// <summary>
/// The gateway's YARP configuration: two routes into one cluster whose destinations are the routing
/// table's nodes (destination id = node id, address <c>http://{endpoint}</c>). A new configuration
/// is published only when the node set or an endpoint changes, not on every table, and in a burst of changes
/// at most <see cref="BurstLimit"/> times per <see cref="BurstWindow"/>. The node choice reads the routing
/// table itself, so a node that left is never chosen meanwhile; one that joined is chosen once published.
/// </summary>
/// <remarks>
/// Both routes take <see cref="RouteOrder"/>, so every endpoint of the hosting application (order 0 by
/// default) wins over them. The services route needs a segment after the service's name: exactly
/// <c>/v1/services/{name}</c> is the aggregator's management API and never reaches the gateway.
/// </remarks>
internal sealed partial class GatewayProxyConfigProvider : IProxyConfigProvider, IDisposable
{
    public const string ClusterId = "drover-nodes";
    public const string InvokeRouteId = "drover-invoke";
    public const string ServicesRouteId = "drover-services";
    public const string InvokePath = "/v1/invoke/{" + GatewayRouteFeature.FunctionRouteValue + "}/{**rest}";
    public const string ServicesPath = "/v1/services/{" + GatewayRouteFeature.ServiceRouteValue + "}/{first}/{**rest}";

    /// <summary>After every endpoint of the hosting application.</summary>
    public const int RouteOrder = 10_000;

    /// <summary>
    /// At most <see cref="BurstLimit"/> configurations are published within any <see cref="BurstWindow"/>: YARP
    /// rebuilds its cluster (one destination per node) for each, and a fleet reconnecting after a restart changes
    /// the node set thousands of times a minute (at 3,000 simulated agents: 1,584 configurations for 5,960
    /// connects, up to 104 a second). A change beyond the limit is published at the window's end, together with
    /// every other made meanwhile, from the table as it is then. Changes at a human pace go out at once.
    /// </summary>
    public const int BurstLimit = 3;

    /// <inheritdoc cref="BurstLimit"/>
    public static readonly TimeSpan BurstWindow = TimeSpan.FromMilliseconds(250);

    private readonly GatewayRoutingTable _table;
    private readonly ILogger<GatewayProxyConfigProvider> _logger;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Queue<long> _published = new();
    private Config _config;
    private ITimer? _pending;

    public GatewayProxyConfigProvider(GatewayRoutingTable table, ILogger<GatewayProxyConfigProvider> logger, TimeProvider? time = null)
    {
        _table = table;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        lock (_gate)
        {
            // Subscribe before reading, under the lock, so no change between the two is missed.
            _table.DestinationsChanged += OnDestinationsChanged;
            _config = Build(_table.Destinations);
        }
    }

    public IProxyConfig GetConfig() => Volatile.Read(ref _config);

    public void Dispose()
    {
        _table.DestinationsChanged -= OnDestinationsChanged;
        lock (_gate)
        {
            _pending?.Dispose();
            _pending = null;
        }
    }

    private void OnDestinationsChanged(RoutingTable table)
    {
        lock (_gate)
        {
            if (_pending is not null)
            {
                return; // the publish already scheduled reads the table as it is then
            }

            while (_published.Count > 0 && _time.GetElapsedTime(_published.Peek()) >= BurstWindow)
            {
                _published.Dequeue();
            }

            if (_published.Count >= BurstLimit)
            {
                _pending = _time.CreateTimer(_ => Publish(), null, BurstWindow - _time.GetElapsedTime(_published.Peek()), Timeout.InfiniteTimeSpan);
                return;
            }
        }

        Publish();
    }

    private void Publish()
    {
        Config previous;
        Config published;
        long version;
        lock (_gate)
        {
            _pending?.Dispose();
            _pending = null;
            _published.Enqueue(_time.GetTimestamp());
            while (_published.Count > BurstLimit)
            {
                _published.Dequeue();
            }

            previous = _config;
            version = _table.Current.Version;
            published = Build(_table.Destinations);
            Volatile.Write(ref _config, published);
        }

        Log.DestinationsPublished(_logger, published.Clusters[0].Destinations!.Count, version);
        previous.SignalChange();
    }

    private Config Build(IReadOnlyDictionary<string, string> nodes)
    {
        var destinations = new Dictionary<string, DestinationConfig>(StringComparer.Ordinal);
        foreach (var (nodeId, endpoint) in nodes)
        {
            // One bad endpoint would make YARP refuse the whole configuration: leave that node out.
            if (!Uri.TryCreate($"http://{endpoint}/", UriKind.Absolute, out var address) || address.PathAndQuery != "/" || !string.IsNullOrEmpty(address.UserInfo))
            {
                Log.DestinationSkipped(_logger, nodeId, endpoint);
                continue;
            }

            destinations[nodeId] = new DestinationConfig { Address = $"http://{endpoint}" };
        }

        var cluster = new ClusterConfig
        {
            ClusterId = ClusterId,
            LoadBalancingPolicy = DroverLoadBalancingPolicy.PolicyName,
            Destinations = destinations,
            // Shims speak HTTP/1.1 on cleartext; the activity timeout stays YARP's 100 s (the shim enforces functions' own).
            HttpRequest = new ForwarderRequestConfig { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionOrLower },
        };
        RouteConfig[] routes =
        [
            new() { RouteId = InvokeRouteId, ClusterId = ClusterId, Order = RouteOrder, Match = new RouteMatch { Path = InvokePath } },
            new() { RouteId = ServicesRouteId, ClusterId = ClusterId, Order = RouteOrder, Match = new RouteMatch { Path = ServicesPath } },
        ];
        return new Config(routes, [cluster]);
    }

    private sealed class Config(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters) : IProxyConfig
    {
        private readonly CancellationTokenSource _changed = new();

        public IReadOnlyList<RouteConfig> Routes { get; } = routes;

        public IReadOnlyList<ClusterConfig> Clusters { get; } = clusters;

        public IChangeToken ChangeToken => new CancellationChangeToken(_changed.Token);

        public void SignalChange() => _changed.Cancel();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1801, EventName = "GatewayDestinationsPublished", Level = LogLevel.Information,
            Message = "The gateway now forwards to {Count} nodes (routing table version {Version}).")]
        public static partial void DestinationsPublished(ILogger logger, int count, long version);

        [LoggerMessage(EventId = 1802, EventName = "GatewayDestinationSkipped", Level = LogLevel.Warning,
            Message = "Node '{NodeId}' has the endpoint '{Endpoint}', which is not a host and port; the gateway leaves it out.")]
        public static partial void DestinationSkipped(ILogger logger, string nodeId, string endpoint);
    }
}
