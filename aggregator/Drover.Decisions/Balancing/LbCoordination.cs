using System.Globalization;

namespace Drover.Decisions.Balancing;

/// <summary>
/// Keeps a function's load-balancing table and an associated service's table in step, in both
/// directions: a weight or state set on a container reaches the function instance paired with it, and
/// one set on a function instance reaches its container. Pure: the host observes the tables, runs a
/// pass, applies the tables it returns and persists the memory for the next pass.
/// </summary>
public static class LbCoordination
{
    /// <summary>
    /// Pairs container instances with function instances for one association: same
    /// <see cref="LbPlacement.Node"/> (scope <see cref="AssociationScope.Node"/>), same
    /// <see cref="LbPlacement.Site"/> (<see cref="AssociationScope.Site"/>) or same
    /// <see cref="LbPlacement.Shard"/> (<see cref="AssociationScope.Shard"/>), compared ordinally.
    /// </summary>
    /// <remarks>
    /// A placement whose key is null pairs with nothing. A container matching more than one function
    /// instance, or a function instance matching more than one container, is a conflict: it is reported
    /// and none of the ids sharing that key gets a pair, since any choice would be a guess. An id listed
    /// twice with different keys is a conflict too, and gets no pair. Pairs are sorted by
    /// <see cref="LbPair.ContainerId"/> (ordinal); conflicts by key.
    /// </remarks>
    public static LbPairing Pair(LbAssociation association, IReadOnlyList<LbPlacement> containers, IReadOnlyList<LbPlacement> functionInstances)
    {
        ArgumentNullException.ThrowIfNull(association);
        ArgumentNullException.ThrowIfNull(containers);
        ArgumentNullException.ThrowIfNull(functionInstances);
        CheckAssociation(association, nameof(association));

        var conflicts = new List<LbConflict>();
        var containerKeys = KeysById(association, containers, "container", nameof(containers), conflicts);
        var instanceKeys = KeysById(association, functionInstances, "function instance", nameof(functionInstances), conflicts);

        var containersByKey = ByKey(containerKeys);
        var instancesByKey = ByKey(instanceKeys);
        var pairs = new List<LbPair>();
        foreach (var (key, containerIds) in containersByKey)
        {
            if (!instancesByKey.TryGetValue(key, out var instanceIds))
            {
                continue;
            }

            if (containerIds.Count == 1 && instanceIds.Count == 1)
            {
                pairs.Add(new LbPair(containerIds[0], instanceIds[0]));
                continue;
            }

            conflicts.Add(new LbConflict(
                association.Function,
                association.Service,
                $"{Ids(containerIds, "container", "containers")} of service '{association.Service}' and "
                + $"{Ids(instanceIds, "function instance", "function instances")} of function '{association.Function}' "
                + $"share {ScopeWord(association.Scope)} '{key}': pairing more than one with one would be a guess, so none of them is paired."));
        }

        pairs.Sort((a, b) => string.CompareOrdinal(a.ContainerId, b.ContainerId));
        return new LbPairing(pairs, conflicts);
    }

    /// <summary>
    /// The associations not coordinated: those on a cycle (<see cref="Cycles"/>), then the others of every function
    /// associated with more than one service, one conflict each (an association given by two scopes once). A function instance goes with one
    /// container: paired once per service, the services' settings would overwrite each other in it every pass.
    /// </summary>
    public static IReadOnlyList<LbConflict> Excluded(IReadOnlyList<LbAssociation> associations)
    {
        ArgumentNullException.ThrowIfNull(associations);
        var conflicts = Cycles(associations).ToList();
        var onCycle = conflicts.Select(c => (c.Function, c.Service)).ToHashSet();
        var several = associations
            .GroupBy(a => a.Function, StringComparer.Ordinal)
            .Where(g => g.Select(a => a.Service).Distinct(StringComparer.Ordinal).Count() > 1)
            .OrderBy(g => g.Key, StringComparer.Ordinal);
        foreach (var function in several)
        {
            var services = function.OrderBy(a => a.Service, StringComparer.Ordinal).ToArray();
            var names = string.Join(", ", services.Select(a => $"'{a.Service}' ({ScopeWord(a.Scope)})"));
            conflicts.AddRange(services
                .Where(a => onCycle.Add((a.Function, a.Service)))
                .Select(a => new LbConflict(a.Function, a.Service,
                    $"Function '{a.Function}' is associated with more than one service ({names}); each of its instances goes with one container, so none of these is coordinated: declare one association.")));
        }

        return conflicts;
    }

    /// <summary>
    /// What a table weighs each node with, for the gateway: per node, the sum of the weights of its <c>ready</c> entries
    /// (<paramref name="nodeOf"/> gives an entry's node; an entry on no known node is left out); a node whose entries are
    /// all drained or in maintenance weighs 0.
    /// </summary>
    public static IReadOnlyDictionary<string, int> NodeWeights(LbTable table, IReadOnlyDictionary<string, string> nodeOf)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(nodeOf);
        var byNode = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in table.Entries)
        {
            if (nodeOf.TryGetValue(entry.Id, out var node))
            {
                byNode[node] = byNode.GetValueOrDefault(node) + (entry.State == LbEntryState.Ready ? entry.Weight : 0);
            }
        }

        return byNode;
    }

    /// <summary>
    /// The associations that lie on a cycle of the bipartite function–service graph, one conflict per
    /// function–service edge, sorted by function then service (ordinal). Coordination is not run for them:
    /// around a loop each table would be generated from the other, and a change could chase itself.
    /// </summary>
    /// <remarks>
    /// A function associated with the same service by two scopes is one edge, not a cycle; a cycle needs
    /// distinct edges (f1–s1–f2–s2–f1). A function associated with two services, or a service with two
    /// functions, is fine unless they close a loop. An edge is on a cycle when its two ends stay connected
    /// without it; each edge is checked by one search, which is ample for the associations an operator
    /// configures.
    /// </remarks>
    public static IReadOnlyList<LbConflict> Cycles(IReadOnlyList<LbAssociation> associations)
    {
        ArgumentNullException.ThrowIfNull(associations);

        var edges = new SortedSet<(string Function, string Service)>(EdgeComparer.Instance);
        foreach (var association in associations)
        {
            if (association is null)
            {
                throw new ArgumentException("The associations contain a null entry.", nameof(associations));
            }

            CheckAssociation(association, nameof(associations));
            edges.Add((association.Function, association.Service));
        }

        var adjacency = new Dictionary<Vertex, List<Vertex>>();
        foreach (var (function, service) in edges)
        {
            Neighbours(adjacency, Vertex.Function(function)).Add(Vertex.Service(service));
            Neighbours(adjacency, Vertex.Service(service)).Add(Vertex.Function(function));
        }

        // Neighbours in a fixed order, so the loop a reason names does not depend on the input's order.
        foreach (var list in adjacency.Values)
        {
            list.Sort(Vertex.Compare);
        }

        var conflicts = new List<LbConflict>();
        foreach (var (function, service) in edges)
        {
            var path = PathAvoidingEdge(adjacency, Vertex.Service(service), Vertex.Function(function));
            if (path is null)
            {
                continue;
            }

            var loop = string.Join(" - ", path.Prepend(Vertex.Function(function)).Select(v => v.Describe()));
            conflicts.Add(new LbConflict(
                function,
                service,
                $"Function '{function}' and service '{service}' lie on a cycle of associations ({loop}), "
                + "where each table would be generated from the other, so they are not coordinated."));
        }

        return conflicts;
    }

    /// <summary>One pass for one association, both directions, decided per pair.</summary>
    /// <remarks>
    /// <para>
    /// An entry has <em>changed</em> when its (weight, state) differs from the memory's last synced entry
    /// for its id, or its id is absent from the memory (new).
    /// </para>
    /// <para>
    /// For each pair (c, f) of <paramref name="pairing"/> whose two ids are both in the tables: when only
    /// the container changed, f takes c's weight and state; when only the function instance changed, c
    /// takes f's. When both changed and differ, or neither changed but they differ (a pair newly formed
    /// between old entries), the service (container) side leads. Equal entries are left alone. A pair with
    /// an id missing from its table is skipped and not remembered: there is nothing to sync yet.
    /// </para>
    /// <para>
    /// A remembered pair whose function instance is gone from the function table while its container is
    /// still in the service table puts the container in <see cref="LbEntryState.Maint"/>, weight kept: its
    /// function instance was removed (scale down); the memory keeps it as retired. Symmetrically, a container
    /// gone puts its function instance in maintenance. An id in a current pair is left to that pair instead.
    /// </para>
    /// <para>
    /// A pair new to the memory whose container the memory knows (a new instance from a scale up or a replacement, an
    /// instance that moved to the container's node) joins at the container's setting, whatever the instance's: a new
    /// entry's weight is only the default a table gives it, while the container's is configuration. A retired container
    /// (see above) comes back into service with it, weight kept; a container an operator put in maintenance keeps the
    /// instance out of service too. A container in <c>pairedElsewhere</c> (another function's instance still goes with
    /// it) is never retired.
    /// </para>
    /// <para>
    /// Entries without a pair are left exactly as they were. Entries keep their order; a pass never adds
    /// or removes entries (only the observers of the balancers do).
    /// </para>
    /// <para>
    /// Policy: when the service's policy changed since the memory (or the memory has none) and the two
    /// differ, the function takes the service's; otherwise, when the function's changed, the service takes
    /// the function's; when neither changed but they differ, the service leads.
    /// </para>
    /// <para>
    /// A changed table is returned with its version one higher; an unchanged one is the given instance.
    /// The pairing's conflicts are passed through (their ids were already left out of its pairs). The
    /// returned memory holds both resulting tables' entries and policies and the pairs used, so a pass on
    /// the returned tables with the returned memory changes nothing.
    /// </para>
    /// </remarks>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">
    /// A table is on the wrong side, has a null or duplicate entry id, a weight outside 0-256 or an
    /// unknown state; or the pairing names an id twice; or the memory has null parts.
    /// </exception>
    public static LbCoordinationResult Coordinate(LbTable service, LbTable function, LbPairing pairing, LbCoordinationMemory memory, IReadOnlySet<string>? pairedElsewhere = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(pairing);
        ArgumentNullException.ThrowIfNull(memory);
        if (service.Side != LbSide.Service)
        {
            throw new ArgumentException($"The service table '{service.Name}' is on the {service.Side} side; expected {LbSide.Service}.", nameof(service));
        }

        if (function.Side != LbSide.Function)
        {
            throw new ArgumentException($"The function table '{function.Name}' is on the {function.Side} side; expected {LbSide.Function}.", nameof(function));
        }

        var serviceIndex = IndexOf(service, nameof(service));
        var functionIndex = IndexOf(function, nameof(function));
        CheckPairing(pairing);
        CheckMemory(memory);

        var serviceEntries = service.Entries.ToArray();
        var functionEntries = function.Entries.ToArray();
        var changes = new List<string>();
        var serviceEdited = false;
        var functionEdited = false;

        var servicePolicy = service.Policy;
        var functionPolicy = function.Policy;
        if (!string.Equals(servicePolicy, functionPolicy, StringComparison.Ordinal))
        {
            var serviceMoved = !string.Equals(memory.ServicePolicy, servicePolicy, StringComparison.Ordinal);
            var functionMoved = !string.Equals(memory.FunctionPolicy, functionPolicy, StringComparison.Ordinal);
            if (functionMoved && !serviceMoved)
            {
                changes.Add($"service '{service.Name}': policy '{servicePolicy}' -> '{functionPolicy}' (from function '{function.Name}')");
                servicePolicy = functionPolicy;
                serviceEdited = true;
            }
            else
            {
                changes.Add($"function '{function.Name}': policy '{functionPolicy}' -> '{servicePolicy}' (from service '{service.Name}')");
                functionPolicy = servicePolicy;
                functionEdited = true;
            }
        }

        var retired = new HashSet<string>(memory.Retired ?? [], StringComparer.Ordinal);
        var used = new List<LbPair>(pairing.Pairs.Count);
        var pairedContainers = new HashSet<string>(StringComparer.Ordinal);
        var pairedInstances = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pair in pairing.Pairs)
        {
            if (!serviceIndex.TryGetValue(pair.ContainerId, out var ci) || !functionIndex.TryGetValue(pair.FunctionInstanceId, out var fi))
            {
                continue;
            }

            used.Add(pair);
            pairedContainers.Add(pair.ContainerId);
            pairedInstances.Add(pair.FunctionInstanceId);
            var container = serviceEntries[ci];
            var instance = functionEntries[fi];
            if (!memory.Pairs.Contains(pair) && memory.ServiceEntries.ContainsKey(container.Id))
            {
                if (container.State == LbEntryState.Maint && retired.Contains(container.Id))
                {
                    serviceEntries[ci] = container with { State = LbEntryState.Ready };
                    changes.Add(Describe("service", service.Name, "container", container, serviceEntries[ci],
                        $"function '{function.Name}' instance '{instance.Id}' goes with it now"));
                    serviceEdited = true;
                    container = serviceEntries[ci];
                }

                if (!SameSetting(container, instance))
                {
                    functionEntries[fi] = instance with { Weight = container.Weight, State = container.State };
                    changes.Add(Describe("function", function.Name, "instance", instance, functionEntries[fi],
                        $"joins service '{service.Name}' container '{container.Id}' at its setting"));
                    functionEdited = true;
                }

                continue;
            }

            if (SameSetting(container, instance))
            {
                continue;
            }

            var functionLeads = Moved(instance, memory.FunctionEntries) && !Moved(container, memory.ServiceEntries);
            if (functionLeads)
            {
                serviceEntries[ci] = container with { Weight = instance.Weight, State = instance.State };
                changes.Add(Describe("service", service.Name, "container", container, serviceEntries[ci],
                    $"from function '{function.Name}' instance '{instance.Id}'"));
                serviceEdited = true;
            }
            else
            {
                functionEntries[fi] = instance with { Weight = container.Weight, State = container.State };
                changes.Add(Describe("function", function.Name, "instance", instance, functionEntries[fi],
                    $"from service '{service.Name}' container '{container.Id}'"));
                functionEdited = true;
            }
        }

        foreach (var old in memory.Pairs)
        {
            var containerHere = serviceIndex.TryGetValue(old.ContainerId, out var ci);
            var instanceHere = functionIndex.TryGetValue(old.FunctionInstanceId, out var fi);
            if (containerHere && !instanceHere && !pairedContainers.Contains(old.ContainerId) && pairedElsewhere?.Contains(old.ContainerId) != true
                && serviceEntries[ci].State != LbEntryState.Maint)
            {
                var before = serviceEntries[ci];
                serviceEntries[ci] = before with { State = LbEntryState.Maint };
                changes.Add(Describe("service", service.Name, "container", before, serviceEntries[ci],
                    $"its function '{function.Name}' instance '{old.FunctionInstanceId}' was removed"));
                serviceEdited = true;
                retired.Add(old.ContainerId);
            }
            else if (instanceHere && !containerHere && !pairedInstances.Contains(old.FunctionInstanceId) && functionEntries[fi].State != LbEntryState.Maint)
            {
                var before = functionEntries[fi];
                functionEntries[fi] = before with { State = LbEntryState.Maint };
                changes.Add(Describe("function", function.Name, "instance", before, functionEntries[fi],
                    $"its service '{service.Name}' container '{old.ContainerId}' was removed"));
                functionEdited = true;
            }
        }

        var serviceOut = serviceEdited
            ? service with { Version = service.Version + 1, Policy = servicePolicy, Entries = serviceEntries }
            : service;
        var functionOut = functionEdited
            ? function with { Version = function.Version + 1, Policy = functionPolicy, Entries = functionEntries }
            : function;
        var next = new LbCoordinationMemory(
            servicePolicy,
            functionPolicy,
            serviceEntries.ToDictionary(e => e.Id, StringComparer.Ordinal),
            functionEntries.ToDictionary(e => e.Id, StringComparer.Ordinal),
            used.ToArray(),
            [.. serviceEntries.Where(e => e.State == LbEntryState.Maint && retired.Contains(e.Id) && !pairedContainers.Contains(e.Id)).Select(e => e.Id)]);
        return new LbCoordinationResult(serviceOut, functionOut, serviceEdited, functionEdited, pairing.Conflicts, changes, next);
    }

    private static bool SameSetting(LbEntry a, LbEntry b) => a.Weight == b.Weight && a.State == b.State;

    /// <summary>Changed since the last pass synced it, or new.</summary>
    private static bool Moved(LbEntry entry, IReadOnlyDictionary<string, LbEntry> last)
        => !last.TryGetValue(entry.Id, out var synced) || synced is null || !SameSetting(entry, synced);

    private static string Describe(string side, string name, string kind, LbEntry before, LbEntry after, string cause)
    {
        var parts = new List<string>(2);
        if (before.Weight != after.Weight)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"weight {before.Weight} -> {after.Weight}"));
        }

        if (before.State != after.State)
        {
            parts.Add($"state {StateName(before.State)} -> {StateName(after.State)}");
        }

        return $"{side} '{name}' {kind} '{before.Id}': {string.Join(", ", parts)} ({cause})";
    }

    /// <summary>A state as the API, HAProxy and the change sentences name it: <c>ready</c>, <c>drain</c>, <c>maint</c>.</summary>
    public static string StateName(LbEntryState state) => state switch
    {
        LbEntryState.Ready => "ready",
        LbEntryState.Drain => "drain",
        _ => "maint",
    };

    private static string ScopeWord(AssociationScope scope) => scope switch
    {
        AssociationScope.Node => "node",
        AssociationScope.Site => "site",
        _ => "shard",
    };

    private static string Ids(IReadOnlyList<string> ids, string one, string many)
        => $"{(ids.Count == 1 ? one : many)} {string.Join(", ", ids.Select(id => $"'{id}'"))}";

    private static void CheckAssociation(LbAssociation association, string parameter)
    {
        if (association.Function is null || association.Service is null)
        {
            throw new ArgumentException("An association has no function or no service name.", parameter);
        }

        if (!Enum.IsDefined(association.Scope))
        {
            throw new ArgumentException(
                $"The association of function '{association.Function}' with service '{association.Service}' has scope {(int)association.Scope}; expected node, site or shard.",
                parameter);
        }
    }

    /// <summary>
    /// Each id's key under the association's scope (null: unknown). An id listed twice with different
    /// keys is a conflict and is left out.
    /// </summary>
    private static Dictionary<string, string?> KeysById(
        LbAssociation association, IReadOnlyList<LbPlacement> placements, string kind, string parameter, List<LbConflict> conflicts)
    {
        var keys = new Dictionary<string, string?>(StringComparer.Ordinal);
        var twice = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var placement in placements)
        {
            if (placement?.Id is null)
            {
                throw new ArgumentException($"The {kind} placements contain a null entry or a null id.", parameter);
            }

            var key = association.Scope switch
            {
                AssociationScope.Node => placement.Node,
                AssociationScope.Site => placement.Site,
                _ => placement.Shard,
            };
            if (keys.TryGetValue(placement.Id, out var seen) && !string.Equals(seen, key, StringComparison.Ordinal))
            {
                twice.Add(placement.Id);
            }

            keys.TryAdd(placement.Id, key);
        }

        foreach (var id in twice)
        {
            var places = placements.Where(p => string.Equals(p.Id, id, StringComparison.Ordinal)).Select(p => association.Scope switch
            {
                AssociationScope.Node => p.Node,
                AssociationScope.Site => p.Site,
                _ => p.Shard,
            }).Distinct(StringComparer.Ordinal).Select(k => k is null ? "unknown" : $"'{k}'");
            conflicts.Add(new LbConflict(
                association.Function,
                association.Service,
                $"{char.ToUpperInvariant(kind[0])}{kind[1..]} '{id}' is placed on more than one {ScopeWord(association.Scope)} ({string.Join(", ", places)}), so it is not paired."));
            keys.Remove(id);
        }

        return keys;
    }

    /// <summary>The ids per known key, keys and ids in ordinal order.</summary>
    private static SortedDictionary<string, List<string>> ByKey(Dictionary<string, string?> keys)
    {
        var byKey = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (id, key) in keys)
        {
            if (key is null)
            {
                continue;
            }

            if (!byKey.TryGetValue(key, out var ids))
            {
                byKey[key] = ids = [];
            }

            ids.Add(id);
        }

        foreach (var ids in byKey.Values)
        {
            ids.Sort(StringComparer.Ordinal);
        }

        return byKey;
    }

    /// <summary>Each entry's position by id, checking the entries on the way.</summary>
    private static Dictionary<string, int> IndexOf(LbTable table, string parameter)
    {
        if (table.Name is null || table.Policy is null || table.Entries is null)
        {
            throw new ArgumentException($"The {table.Side} table has no name, policy or entries.", parameter);
        }

        var index = new Dictionary<string, int>(table.Entries.Count, StringComparer.Ordinal);
        for (var i = 0; i < table.Entries.Count; i++)
        {
            var entry = table.Entries[i];
            if (entry?.Id is null)
            {
                throw new ArgumentException($"The table '{table.Name}' has a null entry or an entry without an id at position {i}.", parameter);
            }

            if (entry.Weight is < 0 or > 256)
            {
                throw new ArgumentException($"The table '{table.Name}' entry '{entry.Id}' has weight {entry.Weight}; expected 0 to 256.", parameter);
            }

            if (!Enum.IsDefined(entry.State))
            {
                throw new ArgumentException($"The table '{table.Name}' entry '{entry.Id}' has state {(int)entry.State}; expected ready, drain or maint.", parameter);
            }

            if (!index.TryAdd(entry.Id, i))
            {
                throw new ArgumentException($"The table '{table.Name}' lists entry '{entry.Id}' more than once.", parameter);
            }
        }

        return index;
    }

    private static void CheckPairing(LbPairing pairing)
    {
        if (pairing.Pairs is null || pairing.Conflicts is null)
        {
            throw new ArgumentException("The pairing has no pairs or no conflicts list.", nameof(pairing));
        }

        var containers = new HashSet<string>(StringComparer.Ordinal);
        var instances = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pair in pairing.Pairs)
        {
            if (pair?.ContainerId is null || pair.FunctionInstanceId is null)
            {
                throw new ArgumentException("The pairing contains a null pair or a pair without an id.", nameof(pairing));
            }

            if (!containers.Add(pair.ContainerId))
            {
                throw new ArgumentException($"The pairing pairs container '{pair.ContainerId}' more than once.", nameof(pairing));
            }

            if (!instances.Add(pair.FunctionInstanceId))
            {
                throw new ArgumentException($"The pairing pairs function instance '{pair.FunctionInstanceId}' more than once.", nameof(pairing));
            }
        }
    }

    private static void CheckMemory(LbCoordinationMemory memory)
    {
        if (memory.ServiceEntries is null || memory.FunctionEntries is null || memory.Pairs is null)
        {
            throw new ArgumentException("The memory has no service entries, function entries or pairs.", nameof(memory));
        }

        if (memory.Pairs.Any(p => p?.ContainerId is null || p.FunctionInstanceId is null))
        {
            throw new ArgumentException("The memory's pairs contain a null pair or a pair without an id.", nameof(memory));
        }
    }

    private static List<Vertex> Neighbours(Dictionary<Vertex, List<Vertex>> adjacency, Vertex vertex)
    {
        if (!adjacency.TryGetValue(vertex, out var list))
        {
            adjacency[vertex] = list = [];
        }

        return list;
    }

    /// <summary>
    /// A shortest path from <paramref name="from"/> to <paramref name="to"/> that does not use the edge
    /// between them, both ends included; null when there is none (the edge is a bridge).
    /// </summary>
    private static List<Vertex>? PathAvoidingEdge(Dictionary<Vertex, List<Vertex>> adjacency, Vertex from, Vertex to)
    {
        var parent = new Dictionary<Vertex, Vertex> { [from] = from };
        var queue = new Queue<Vertex>();
        queue.Enqueue(from);
        while (queue.Count > 0)
        {
            var current = queue.Dequeue();
            foreach (var next in adjacency[current])
            {
                if ((current == from && next == to) || parent.ContainsKey(next))
                {
                    continue;
                }

                parent[next] = current;
                if (next == to)
                {
                    var path = new List<Vertex> { to };
                    for (var v = to; v != from; v = parent[v])
                    {
                        path.Add(parent[v]);
                    }

                    path.Reverse();
                    return path;
                }

                queue.Enqueue(next);
            }
        }

        return null;
    }

    /// <summary>A function or a service in the association graph; the two kinds never collide by name.</summary>
    private readonly record struct Vertex(bool IsService, string Name)
    {
        public static Vertex Function(string function) => new(false, function);

        public static Vertex Service(string service) => new(true, service);

        public static int Compare(Vertex a, Vertex b)
        {
            var byKind = a.IsService.CompareTo(b.IsService);
            return byKind != 0 ? byKind : string.CompareOrdinal(a.Name, b.Name);
        }

        public string Describe() => $"{(IsService ? "service" : "function")} '{Name}'";
    }

    private sealed class EdgeComparer : IComparer<(string Function, string Service)>
    {
        public static EdgeComparer Instance { get; } = new();

        public int Compare((string Function, string Service) x, (string Function, string Service) y)
        {
            var byFunction = string.CompareOrdinal(x.Function, y.Function);
            return byFunction != 0 ? byFunction : string.CompareOrdinal(x.Service, y.Service);
        }
    }
}
