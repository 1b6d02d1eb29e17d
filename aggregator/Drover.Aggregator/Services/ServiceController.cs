using Drover.Aggregator.Access;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Placement;
using Drover.Aggregator.Workloads;
using Drover.Decisions.Routing;
using Drover.Decisions.Services;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Services;

/// <summary>
/// Every placement pass, for every service: a rollout snapshot (its sets and how many of their
/// instances are ready), the blue/green decision (<see cref="ServiceRollout"/>, pure), and its
/// effects: the registry's sets and active version, and the routing tables the nodes' shims apply.
/// The sets' instances themselves are placed by the instance placement, as workloads.
/// </summary>
internal sealed partial class ServiceController
{
    private readonly ServiceRegistry _registry;
    private readonly ServiceRoutesPublisher _routes;
    private readonly DecisionLog _decisions;
    private readonly TimeProvider _time;
    private readonly ILogger<ServiceController> _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, string> _lastReason = new(StringComparer.Ordinal);
    private Dictionary<string, TimeSpan> _drains = new(StringComparer.Ordinal);

    // Instances placement wants gone (a smaller instance count): out of the routes first.
    private readonly HashSet<string> _leaving = new(StringComparer.Ordinal);
    private string[] _routing = [];

    private readonly InvocationKeyStore _keys;

    public ServiceController(ServiceRegistry registry, ServiceRoutesPublisher routes, DecisionLog decisions, InvocationKeyStore keys, TimeProvider time, ILogger<ServiceController> logger)
    {
        _keys = keys;
        _registry = registry;
        _routes = routes;
        _decisions = decisions;
        _time = time;
        _logger = logger;
    }

    /// <summary>The sets placement keeps running, as workloads.</summary>
    public IEnumerable<Workload> Workloads() => _registry.All.SelectMany(s => s.Sets.Select(set => Workload.Of(set, _keys.HashesOf(WorkloadRef.OfService(s.Definition.Name)))));

    /// <summary>How long an instance of a set placement no longer keeps may finish its requests; null when unknown.</summary>
    public TimeSpan? DrainFor(string key)
    {
        lock (_gate)
        {
            if (_drains.TryGetValue(key, out var drain))
            {
                return drain;
            }
        }

        // A set this process never knew (retired before an aggregator restart, its instances found
        // again in the nodes' reports): the service's drain, or the default when it is gone too.
        return WorkloadKeys.ServiceOf(key) is { } service
            ? TimeSpan.FromMilliseconds(_registry.Find(service)?.Definition.DrainTimeoutMs ?? new ServiceDefinition().DrainTimeoutMs)
            : null;
    }

    /// <summary>The rollout's last word on a service, for <c>GET /v1/services/{name}</c>.</summary>
    public string? RolloutOf(string service)
    {
        lock (_gate)
        {
            return _lastReason.GetValueOrDefault(service);
        }
    }

    /// <summary>One pass over every service: decide the rollout's next step, take it, and keep the routing tables in step.</summary>
    public void Reconcile(IReadOnlyList<NodeView> nodes, IReadOnlyList<InstanceView> instances)
    {
        var connected = nodes.Where(n => n.Connected && n.Survival != NodeSurvival.Lost).Select(n => n.NodeId).ToArray();

        // Old sets stop only once every node that may still route requests (any node not lost,
        // connected or not) has applied the table that routes elsewhere.
        var routing = nodes.Where(n => n.Survival != NodeSurvival.Lost).Select(n => n.NodeId).ToArray();
        lock (_gate)
        {
            _routing = routing;
            _leaving.IntersectWith(instances.Select(i => i.InstanceId));
        }

        var endpoints = nodes.Where(n => n.Connected && n.Survival is NodeSurvival.Alive or NodeSurvival.Draining).ToDictionary(n => n.NodeId, n => n.Identity.ShimEndpoint, StringComparer.Ordinal);
        var services = _registry.All;
        foreach (var service in services)
        {
            var name = service.Definition.Name;
            var snapshot = new RolloutSnapshot(
                service.Definition.Version,
                service.ActiveVersion,
                service.Sets.Select(s => new RolloutSet(s.Version, s.InstanceCount, Ready(instances, endpoints, WorkloadKeys.ServiceSet(name, s.Version)).Count())).ToArray(),
                _routes.IsAcknowledged(name, routing));
            var decision = ServiceRollout.Decide(snapshot);
            Apply(name, decision);
            lock (_gate)
            {
                _lastReason[name] = decision.Reason;
            }

            if (_registry.Find(name) is { ActiveVersion: { } active } current)
            {
                string[] leaving;
                lock (_gate)
                {
                    leaving = [.. _leaving];
                }

                _routes.Publish(RoutesOf(current, Ready(instances, endpoints, WorkloadKeys.ServiceSet(name, active)).Where(r => !leaving.Contains(r.Instance.InstanceId))));
            }
        }

        var defined = services.Select(s => s.Definition.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _routes.Services.Where(s => !defined.Contains(s)))
        {
            _routes.Remove(gone);
        }

        lock (_gate)
        {
            // Drain timeouts of every set still known, and of those that just went (retired, or their service deleted).
            var next = _registry.All.SelectMany(s => s.Sets).ToDictionary(s => WorkloadKeys.ServiceSet(s.Name, s.Version), s => TimeSpan.FromMilliseconds(s.DrainTimeoutMs), StringComparer.Ordinal);
            foreach (var (key, drain) in _drains.Where(d => !next.ContainsKey(d.Key) && instances.Any(i => i.Function == d.Key)))
            {
                next[key] = drain;
            }

            _drains = next;
            foreach (var name in _lastReason.Keys.Where(n => !defined.Contains(n)).ToArray())
            {
                _lastReason.Remove(name);
            }
        }

        _routes.Flush(connected);
    }

    /// <summary>
    /// Whether an instance of a set that placement removes may be stopped now: only once the routing
    /// table without it is applied by every node that may route to it. The first ask takes it out of
    /// the next table. Instances of functions may always stop.
    /// </summary>
    public bool MayStop(string key, string instanceId)
    {
        if (WorkloadKeys.ServiceOf(key) is not { } service)
        {
            return true;
        }

        string[] routing;
        lock (_gate)
        {
            if (_leaving.Add(instanceId))
            {
                return false;
            }

            routing = _routing;
        }

        return !_routes.Routes(service).Contains(instanceId) && _routes.IsAcknowledged(service, routing);
    }

    private void Apply(string name, RolloutDecision decision)
    {
        switch (decision.Step)
        {
            case RolloutStep.CreateSet:
                _registry.Update(name, s => s with { Sets = [.. s.Sets, s.Definition] });
                break;
            case RolloutStep.Shift:
                _registry.Update(name, s => s with { ActiveVersion = decision.Version });
                break;
            case RolloutStep.RemoveRetired:
                _registry.Update(name, s => s with { Sets = s.Sets.Where(set => !decision.Retired.Contains(set.Version)).ToArray() });
                break;
            default:
                return;
        }

        var step = decision.Step switch
        {
            RolloutStep.CreateSet => "create-set",
            RolloutStep.Shift => "shift-traffic",
            _ => "remove-sets",
        };
        _decisions.Add(new DecisionRecord(_time.GetUtcNow(), step, $"service/{name}", null, null, null, null, decision.Reason, $"version '{decision.Version}'"));
        Log.Step(_logger, name, step, decision.Reason);
    }

    /// <summary>The instances of a set the shims may send requests to: ready, on the node they are assigned to, and that node reachable.</summary>
    private static IEnumerable<(InstanceView Instance, string Endpoint)> Ready(IReadOnlyList<InstanceView> instances, Dictionary<string, string> endpoints, string key)
        => instances
            .Where(i => i.Function == key && Routable.IsRoutable(i.Ready, i.ReportedNodeId, i.AssignedNodeId) && endpoints.ContainsKey(i.AssignedNodeId))
            .Select(i => (i, endpoints[i.AssignedNodeId]));

    private SetServiceRoutes RoutesOf(ServiceState service, IEnumerable<(InstanceView Instance, string Endpoint)> ready)
    {
        var active = service.Sets.First(s => s.Version == service.ActiveVersion);
        var routes = new SetServiceRoutes
        {
            Service = active.Name,
            Policy = active.Policy == "power-of-two-choices" ? BalancingPolicy.PowerOfTwoChoices : BalancingPolicy.LeastInFlight,
            RoutingField = active.RoutingField switch
            {
                { Header: { Length: > 0 } header } => new RoutingField { Header = header },
                { JsonField: { Length: > 0 } field } => new RoutingField { JsonField = field },
                _ => null,
            },
        };
        routes.EventHeaders.Add(active.EventHeaders);
        routes.Public = active.Public;
        routes.KeySha256.Add(_keys.HashesOf(WorkloadRef.OfService(active.Name)));
        routes.Routes.Add(ready
            .OrderBy(r => r.Instance.InstanceId, StringComparer.Ordinal)
            .Select(r => new ServiceRoute { InstanceId = r.Instance.InstanceId, NodeId = r.Instance.AssignedNodeId, Address = r.Endpoint, Version = active.Version }));
        return routes;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1603, EventName = "ServiceRolloutStep", Level = LogLevel.Information,
            Message = "Service '{Service}': {Step}: {Reason}.")]
        public static partial void Step(ILogger logger, string service, string step, string reason);
    }
}
