using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Functions;
using Drover.Aggregator.Placement;
using Drover.Aggregator.Services;
using Drover.Aggregator.State;
using Drover.Decisions.Balancing;
using Drover.Protocol.Events;

namespace Drover.Aggregator.Balancers;

/// <summary>
/// Keeps the load-balancing tables of functions and of the services they are associated with in step (issue 18), every
/// <c>balancerPollPeriodMs</c> and at once when a balancer asks (<see cref="Wake"/>): acquire each side (a registered
/// balancer by reading it, Drover's own from the instance table), derive the associations from the definitions, then
/// per association the pure <see cref="LbCoordination"/>, then provide what it generated (a balancer's servers through
/// its Runtime API, the gateway's weights), keep the tables and the memory in the store, and report changes and
/// conflicts as decisions on <c>decisions/&lt;function&gt;</c>.
/// </summary>
/// <remarks>
/// Associations that share a function or a service are coordinated together (a component). When a balancer of a
/// component cannot be read, or refuses a write, nothing of that component changes in this pass: its tables stay as
/// held, its memory as it was, and the next pass tries again from what the balancer then has, so a balancer that is
/// down or answers garbage never corrupts Drover's tables. A read or a write takes at most <c>balancerTimeoutMs</c>,
/// and balancers are read concurrently, so no balancer can hold the pass beyond that.
/// </remarks>
internal sealed partial class LoadBalancingCoordinator : BackgroundService
{
    private readonly BalancerRegistry _balancers;
    private readonly FunctionRegistry _functions;
    private readonly ServiceRegistry _services;
    private readonly NodeTable _nodes;
    private readonly InstanceTable _instances;
    private readonly DecisionLog _decisions;
    private readonly GatewayWeights _weights;
    private readonly AggregatorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<LoadBalancingCoordinator> _logger;
    private readonly IDecisionMemoryStore? _store;
    private readonly Func<BalancerRegistration, IContainerBalancer> _connect;
    private readonly PassTrigger _trigger;

    // One pass at a time (the loop's, or a test's); the view is swapped whole under _gate for the API.
    private readonly SemaphoreSlim _pass = new(1, 1);
    private readonly Lock _gate = new();
    private StoredLoadBalancing _held;
    private LbView _view = LbView.Empty;
    private HashSet<string> _reported = new(StringComparer.Ordinal);

    public LoadBalancingCoordinator(
        BalancerRegistry balancers,
        FunctionRegistry functions,
        ServiceRegistry services,
        NodeTable nodes,
        InstanceTable instances,
        DecisionLog decisions,
        GatewayWeights weights,
        AggregatorOptions options,
        TimeProvider time,
        ILogger<LoadBalancingCoordinator> logger,
        IDecisionMemoryStore? store = null,
        Func<BalancerRegistration, IContainerBalancer>? connect = null)
    {
        _balancers = balancers;
        _functions = functions;
        _services = services;
        _nodes = nodes;
        _instances = instances;
        _decisions = decisions;
        _weights = weights;
        _options = options;
        _time = time;
        _logger = logger;
        _store = store;
        _connect = connect ?? (registration => new HaproxyBalancer(registration, options.BalancerTimeout));
        _trigger = new PassTrigger(time);
        _held = store?.LoadLoadBalancing() ?? StoredLoadBalancing.Empty;
    }

    /// <summary>What the last pass held: the tables, the associations with their pairs, the balancers' contact.</summary>
    public LbView View
    {
        get
        {
            lock (_gate)
            {
                return _view;
            }
        }
    }

    /// <summary>Asks for a pass now rather than at the next period (a balancer's request, a registration changed).</summary>
    public void Wake() => _trigger.Wake();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await PassAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A defect in one pass must not end the coordination: logged, and the next pass starts afresh.
                    Log.PassFailed(_logger, ex);
                }

                await _trigger.WaitAsync(_options.BalancerPollPeriod, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass: acquire, associate, coordinate, provide, keep, report.</summary>
    internal async Task PassAsync(CancellationToken cancellationToken)
    {
        await _pass.WaitAsync(cancellationToken);
        try
        {
            await PassLockedAsync(cancellationToken);
        }
        finally
        {
            _pass.Release();
        }
    }

    private async Task PassLockedAsync(CancellationToken cancellationToken)
    {
        var registrations = _balancers.All;
        var functions = _functions.All.Where(LbObservation.Declares).ToArray();
        var named = functions.Select(f => f.ColocateWith?.Service).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var sharding = functions.Any(f => f.DbShard is not null);
        var services = _services.All.Select(s => s.Definition).Where(s => named.Contains(s.Name) || (sharding && s.DbShard is not null)).ToArray();
        var nodes = _nodes.Snapshot();
        var instances = _instances.Snapshot();
        var byWorkload = LbObservation.ByWorkload(instances);
        var sites = LbObservation.Sites(nodes);
        var held = _held.Tables.ToDictionary(t => Key(t.Table.Side, t.Table.Name), StringComparer.Ordinal);
        var problems = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Problem(string key, string problem)
        {
            if (!problems.TryGetValue(key, out var list))
            {
                problems[key] = list = [];
            }

            if (!list.Contains(problem, StringComparer.Ordinal))
            {
                list.Add(problem);
            }
        }

        // Acquire: every registered balancer, concurrently, each bounded by its timeout.
        var reads = await Task.WhenAll(registrations.Select(r => ReadAsync(r, cancellationToken)));
        var sides = new Dictionary<string, LbSideView>(StringComparer.Ordinal);
        var unreadable = new HashSet<string>(StringComparer.Ordinal);
        var statuses = new List<BalancerStatus>();
        foreach (var (registration, servers, error) in reads)
        {
            var serviceKey = Key(LbSide.Service, registration.Service);
            var balancedBy = registrations.First(r => r.Service == registration.Service);
            if (balancedBy != registration)
            {
                var twice = $"service '{registration.Service}' is balanced by '{balancedBy.Name}' already; this registration is not used";
                statuses.Add(BalancerStatus.Of(registration, null, twice, Previous(registration.Name)));
                continue;
            }

            statuses.Add(BalancerStatus.Of(registration, servers?.Count, error, Previous(registration.Name), _time.GetUtcNow()));
            if (servers is null)
            {
                Problem(serviceKey, error!);
                unreadable.Add(registration.Service);
                sides[registration.Service] = new LbSideView(
                    held.TryGetValue(serviceKey, out var kept) ? kept.Table : new LbTable(LbSide.Service, registration.Service, 0, registration.Policy, []),
                    [], null, registration, []);
                continue;
            }

            sides[registration.Service] = LbObservation.Balanced(registration, servers, nodes, sites, held.GetValueOrDefault(serviceKey)?.Table);
        }

        ReportBalancers(statuses);
        foreach (var service in services)
        {
            if (!sides.ContainsKey(service.Name))
            {
                sides[service.Name] = LbObservation.Service(service, byWorkload[EventChannels.Service(service.Name)], sites, held.GetValueOrDefault(Key(LbSide.Service, service.Name))?.Table);
            }
        }

        var functionSides = functions.ToDictionary(
            f => f.Name,
            f => LbObservation.Function(f, byWorkload[f.Name], sites, held.GetValueOrDefault(Key(LbSide.Function, f.Name))?.Table),
            StringComparer.Ordinal);

        // Associate: from the definitions.
        var (associations, unmatched) = LbObservation.Associations(functions, sides);
        foreach (var (function, why) in unmatched)
        {
            Problem(Key(LbSide.Function, function), why);
        }

        // Those on a cycle, and a function's with several services, are reported and left alone.
        var excluded = LbCoordination.Excluded(associations);
        foreach (var conflict in excluded)
        {
            Problem(Key(LbSide.Function, conflict.Function), conflict.Reason);
            Problem(Key(LbSide.Service, conflict.Service), conflict.Reason);
        }

        var alone = excluded.Select(c => (c.Function, c.Service)).ToHashSet();
        var working = sides.Values.Select(s => s.Table).Concat(functionSides.Values.Select(f => f.Table)).ToDictionary(t => Key(t.Side, t.Name), StringComparer.Ordinal);
        var memories = new Dictionary<string, LbCoordinationMemory>(StringComparer.Ordinal);
        var views = new List<LbAssociationView>();
        var conflicts = new List<LbConflict>(excluded);
        foreach (var component in Components(associations.Where(a => !alone.Contains((a.Function, a.Service))).ToArray()))
        {
            var local = new Dictionary<string, LbTable>(StringComparer.Ordinal);
            var localMemories = new Dictionary<string, LbCoordinationMemory>(StringComparer.Ordinal);
            var results = new List<(LbAssociation Association, LbCoordinationResult Result, LbPairing Pairing)>();
            var blocked = component.FirstOrDefault(a => unreadable.Contains(a.Service));
            string? failed = null;
            try
            {
                var pairings = component.ToDictionary(a => a, a => LbCoordination.Pair(a, sides[a.Service].Placements, functionSides[a.Function].Placements));
                foreach (var association in component)
                {
                    var serviceKey = Key(LbSide.Service, association.Service);
                    var functionKey = Key(LbSide.Function, association.Function);
                    var pairing = pairings[association];
                    if (blocked is not null)
                    {
                        // Its balancer could not be read: nothing is decided on a table that may be stale.
                        views.Add(LbAssociationView.Of(association, pairing, "waiting for its balancer to be read"));
                        continue;
                    }

                    // A container another function's instance goes with stays in service when this function's leaves.
                    var pairedElsewhere = pairings.Where(p => p.Key != association && p.Key.Service == association.Service)
                        .SelectMany(p => p.Value.Pairs.Select(pair => pair.ContainerId))
                        .ToHashSet(StringComparer.Ordinal);
                    var memory = _held.Memories.GetValueOrDefault(LbObservation.KeyOf(association)) ?? LbCoordinationMemory.Empty;
                    var result = LbCoordination.Coordinate(
                        local.GetValueOrDefault(serviceKey) ?? working[serviceKey],
                        local.GetValueOrDefault(functionKey) ?? working[functionKey],
                        pairing,
                        memory,
                        pairedElsewhere);
                    local[serviceKey] = result.Service;
                    local[functionKey] = result.Function;
                    localMemories[LbObservation.KeyOf(association)] = result.Memory;
                    results.Add((association, result, pairing));
                }
            }
            catch (ArgumentException ex)
            {
                // Input the rule refuses (a table with an id twice, a weight out of range): this component waits, the others go on.
                failed = $"not coordinated: {ex.Message}";
                Log.ComponentRefused(_logger, string.Join(", ", component.Select(a => $"{a.Function}/{a.Service}")), ex.Message);
            }

            if (blocked is not null || failed is not null)
            {
                foreach (var association in component)
                {
                    if (failed is not null)
                    {
                        Problem(Key(LbSide.Function, association.Function), failed);
                        Problem(Key(LbSide.Service, association.Service), failed);
                        views.Add(LbAssociationView.Of(association, new LbPairing([], []), failed));
                    }

                    if (_held.Memories.TryGetValue(LbObservation.KeyOf(association), out var kept))
                    {
                        memories[LbObservation.KeyOf(association)] = kept;
                    }
                }

                continue;
            }

            // Provide: each balancer of the component gets the entries that differ from what it has.
            var refused = await ProvideAsync(component, sides, local, cancellationToken);
            if (refused is not null)
            {
                foreach (var association in component)
                {
                    Problem(Key(LbSide.Service, association.Service), refused);
                    if (_held.Memories.TryGetValue(LbObservation.KeyOf(association), out var kept))
                    {
                        memories[LbObservation.KeyOf(association)] = kept;
                    }
                }

                views.AddRange(results.Select(r => LbAssociationView.Of(r.Association, r.Pairing, refused)));
                continue;
            }

            foreach (var (key, table) in local)
            {
                working[key] = table;
            }

            foreach (var (key, memory) in localMemories)
            {
                memories[key] = memory;
            }

            foreach (var (association, result, pairing) in results)
            {
                conflicts.AddRange(result.Conflicts);
                foreach (var conflict in result.Conflicts)
                {
                    Problem(Key(LbSide.Function, conflict.Function), conflict.Reason);
                    Problem(Key(LbSide.Service, conflict.Service), conflict.Reason);
                }

                views.Add(LbAssociationView.Of(association, pairing, null));
                if (result.Changes.Count > 0)
                {
                    Record(association, result);
                }
            }
        }

        foreach (var association in associations.Where(a => alone.Contains((a.Function, a.Service))))
        {
            views.Add(LbAssociationView.Of(association, new LbPairing([], []), excluded.First(c => c.Function == association.Function && c.Service == association.Service).Reason));
        }

        Keep(working, problems, memories, held);
        ReportConflicts(conflicts);
        var view = new LbView(
            _held.Tables.ToDictionary(t => Key(t.Table.Side, t.Table.Name), StringComparer.Ordinal),
            views.OrderBy(v => v.Function, StringComparer.Ordinal).ThenBy(v => v.Service, StringComparer.Ordinal).ToArray(),
            statuses.ToDictionary(s => s.Name, StringComparer.Ordinal),
            sides.Values.Concat(functionSides.Values).ToDictionary(s => Key(s.Table.Side, s.Table.Name), s => s.Placements, StringComparer.Ordinal));
        lock (_gate)
        {
            _view = view;
        }

        _weights.Set(Weights(associations, functionSides, sides, working, instances));
    }

    /// <summary>A table's key: <c>service/&lt;name&gt;</c> or <c>function/&lt;name&gt;</c>.</summary>
    public static string Key(LbSide side, string name) => side == LbSide.Service ? $"service/{name}" : $"function/{name}";

    private BalancerStatus? Previous(string name) => View.Balancers.GetValueOrDefault(name);

    private async Task<(BalancerRegistration Registration, IReadOnlyList<ContainerServer>? Servers, string? Error)> ReadAsync(BalancerRegistration registration, CancellationToken cancellationToken)
    {
        try
        {
            return (registration, await _connect(registration).ReadAsync(cancellationToken), null);
        }
        catch (ContainerBalancerException ex)
        {
            return (registration, null, ex.Message);
        }
    }

    /// <summary>Writes each balancer of the component the entries its generated table changed; null, or the first refusal.</summary>
    private async Task<string?> ProvideAsync(IReadOnlyList<LbAssociation> component, Dictionary<string, LbSideView> sides, Dictionary<string, LbTable> local, CancellationToken cancellationToken)
    {
        foreach (var service in component.Select(a => a.Service).Distinct(StringComparer.Ordinal))
        {
            var side = sides[service];
            if (side.Balancer is null || !local.TryGetValue(Key(LbSide.Service, service), out var generated))
            {
                continue;
            }

            var read = side.Read.ToDictionary(e => e.Id, StringComparer.Ordinal);
            var changes = generated.Entries
                .Where(e => read.TryGetValue(e.Id, out var had) && had != e)
                .Select(e => (From: read[e.Id], To: e))
                .ToArray();
            if (changes.Length == 0)
            {
                continue;
            }

            try
            {
                await _connect(side.Balancer).ApplyAsync(changes, cancellationToken);
                Log.Provided(_logger, side.Balancer.Name, changes.Length, string.Join(", ", changes.Select(c => $"{c.To.Id}: weight {c.To.Weight}, {LbCoordination.StateName(c.To.State)}")));
            }
            catch (ContainerBalancerException ex)
            {
                Log.ProvideFailed(_logger, side.Balancer.Name, ex.Message);
                return $"balancer '{side.Balancer.Name}' refused the update: {ex.Message}";
            }
        }

        return null;
    }

    /// <summary>Holds the pass's tables (a version more for each whose entries or policy changed) and memory; saves them when anything changed.</summary>
    private void Keep(Dictionary<string, LbTable> working, Dictionary<string, List<string>> problems, Dictionary<string, LbCoordinationMemory> memories, Dictionary<string, StoredLbTable> held)
    {
        var now = _time.GetUtcNow();
        var tables = new List<StoredLbTable>(working.Count);
        var changed = working.Count != held.Count || memories.Count != _held.Memories.Count;
        foreach (var (key, table) in working.OrderBy(w => w.Key, StringComparer.Ordinal))
        {
            var found = problems.TryGetValue(key, out var list) ? list.ToArray() : [];
            if (held.TryGetValue(key, out var before) && SameContent(before.Table, table))
            {
                var kept = before.Problems.SequenceEqual(found, StringComparer.Ordinal) ? before : before with { Problems = found };
                changed |= !ReferenceEquals(kept, before);
                tables.Add(kept);
                continue;
            }

            changed = true;
            tables.Add(new StoredLbTable(table with { Version = (before?.Table.Version ?? 0) + 1 }, now, found));
        }

        changed |= memories.Any(m => !_held.Memories.TryGetValue(m.Key, out var before) || !SameMemory(before, m.Value));
        if (!changed)
        {
            return;
        }

        _held = new StoredLoadBalancing(tables, memories);

        // A failed save is logged by the store; the tables stand in this process and the next change saves again.
        _store?.SaveLoadBalancing(_held);
    }

    private static bool SameContent(LbTable a, LbTable b) => a.Policy == b.Policy && a.Entries.SequenceEqual(b.Entries);

    private static bool SameMemory(LbCoordinationMemory a, LbCoordinationMemory b)
        => a.ServicePolicy == b.ServicePolicy && a.FunctionPolicy == b.FunctionPolicy && a.Pairs.SequenceEqual(b.Pairs)
            && Same(a.ServiceEntries, b.ServiceEntries) && Same(a.FunctionEntries, b.FunctionEntries)
            && (a.Retired ?? []).SequenceEqual(b.Retired ?? [], StringComparer.Ordinal);

    private static bool Same(IReadOnlyDictionary<string, LbEntry> a, IReadOnlyDictionary<string, LbEntry> b)
        => a.Count == b.Count && a.All(e => b.TryGetValue(e.Key, out var other) && other == e.Value);

    /// <summary>
    /// The gateway's weights: for each Drover workload (function or service) with an association, each node's sum of its
    /// <c>ready</c> entries' weights; a node whose entries are all drained or in maintenance weighs 0.
    /// </summary>
    private static Dictionary<string, IReadOnlyDictionary<string, int>> Weights(
        IReadOnlyList<LbAssociation> associations,
        Dictionary<string, LbSideView> functionSides,
        Dictionary<string, LbSideView> sides,
        Dictionary<string, LbTable> working,
        IReadOnlyList<InstanceView> instances)
    {
        var nodeOf = instances.ToDictionary(i => i.InstanceId, i => i.AssignedNodeId, StringComparer.Ordinal);
        var weights = new Dictionary<string, IReadOnlyDictionary<string, int>>(StringComparer.Ordinal);
        var coordinated = associations.Select(a => functionSides[a.Function]).Concat(associations.Select(a => sides[a.Service]));
        foreach (var side in coordinated)
        {
            if (side.Workload is null || weights.ContainsKey(side.Workload))
            {
                continue;
            }

            weights[side.Workload] = LbCoordination.NodeWeights(working[Key(side.Table.Side, side.Table.Name)], nodeOf);
        }

        return weights;
    }

    /// <summary>The associations in groups that share no function and no service, each in a stable order.</summary>
    private static IEnumerable<LbAssociation[]> Components(IReadOnlyList<LbAssociation> associations)
    {
        var parent = new Dictionary<string, string>(StringComparer.Ordinal);
        string Find(string x)
        {
            while (parent.TryGetValue(x, out var up) && up != x)
            {
                x = up;
            }

            return x;
        }

        foreach (var a in associations)
        {
            var f = Find("f:" + a.Function);
            var s = Find("s:" + a.Service);
            parent.TryAdd(f, f);
            parent.TryAdd(s, s);
            if (f != s)
            {
                parent[s] = f;
            }
        }

        return associations
            .GroupBy(a => Find("f:" + a.Function), StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => g.OrderBy(a => a.Function, StringComparer.Ordinal).ThenBy(a => a.Service, StringComparer.Ordinal).ToArray());
    }

    private void Record(LbAssociation association, LbCoordinationResult result)
    {
        var reason = string.Join("; ", result.Changes);
        Log.Coordinated(_logger, association.Function, association.Service, reason);
        _decisions.Add(new DecisionRecord(
            _time.GetUtcNow(), "balancing", association.Function, null, null, null, null, reason, "applied",
            new { service = association.Service, scope = LbView.ScopeName(association.Scope), serviceChanged = result.ServiceChanged, functionChanged = result.FunctionChanged }));
    }

    /// <summary>A conflict is reported once when it appears (a decision and a warning), and again only after it went away.</summary>
    private void ReportConflicts(List<LbConflict> conflicts)
    {
        var now = new HashSet<string>(StringComparer.Ordinal);
        foreach (var conflict in conflicts)
        {
            var key = $"{conflict.Function}|{conflict.Service}|{conflict.Reason}";
            now.Add(key);
            if (_reported.Contains(key))
            {
                continue;
            }

            Log.Conflict(_logger, conflict.Function, conflict.Service, conflict.Reason);
            _decisions.Add(new DecisionRecord(
                _time.GetUtcNow(), "balancing-conflict", conflict.Function, null, null, null, null, conflict.Reason, "not coordinated",
                new { service = conflict.Service }));
        }

        _reported = now;
    }

    /// <summary>Logs a balancer that stopped answering (once) and one that answers again.</summary>
    private void ReportBalancers(List<BalancerStatus> statuses)
    {
        foreach (var status in statuses)
        {
            var before = Previous(status.Name);
            if (status.Error is not null && before?.Error != status.Error)
            {
                Log.BalancerFailing(_logger, status.Name, status.Error);
            }
            else if (status.Error is null && before?.Error is not null)
            {
                Log.BalancerBack(_logger, status.Name, status.Servers ?? 0);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1801, EventName = "BalancingCoordinated", Level = LogLevel.Information,
            Message = "Load balancing of function '{Function}' and service '{Service}' coordinated: {Changes}.")]
        public static partial void Coordinated(ILogger logger, string function, string service, string changes);

        [LoggerMessage(EventId = 1802, EventName = "BalancingConflict", Level = LogLevel.Warning,
            Message = "Load balancing of function '{Function}' and service '{Service}' is not coordinated: {Reason}.")]
        public static partial void Conflict(ILogger logger, string function, string service, string reason);

        [LoggerMessage(EventId = 1803, EventName = "BalancerFailing", Level = LogLevel.Warning,
            Message = "Balancer '{Balancer}' cannot be read: {Error}. Its service's tables are held as they were; trying again every period.")]
        public static partial void BalancerFailing(ILogger logger, string balancer, string error);

        [LoggerMessage(EventId = 1804, EventName = "BalancerBack", Level = LogLevel.Information,
            Message = "Balancer '{Balancer}' answers again ({Servers} servers).")]
        public static partial void BalancerBack(ILogger logger, string balancer, int servers);

        [LoggerMessage(EventId = 1805, EventName = "BalancerProvided", Level = LogLevel.Information,
            Message = "Balancer '{Balancer}' updated, {Count} servers: {Changes}.")]
        public static partial void Provided(ILogger logger, string balancer, int count, string changes);

        [LoggerMessage(EventId = 1806, EventName = "BalancerRefused", Level = LogLevel.Warning,
            Message = "Balancer '{Balancer}' refused an update: {Error}. Nothing of its associations changed; trying again next period.")]
        public static partial void ProvideFailed(ILogger logger, string balancer, string error);

        [LoggerMessage(EventId = 1808, EventName = "BalancingRefused", Level = LogLevel.Warning,
            Message = "Load balancing of {Associations} is not coordinated this pass: {Reason}.")]
        public static partial void ComponentRefused(ILogger logger, string associations, string reason);

        [LoggerMessage(EventId = 1807, EventName = "BalancingPassFailed", Level = LogLevel.Error,
            Message = "A load-balancing coordination pass failed; the next one starts afresh.")]
        public static partial void PassFailed(ILogger logger, Exception exception);
    }
}
