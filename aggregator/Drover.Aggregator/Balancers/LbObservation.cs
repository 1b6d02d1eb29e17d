using Drover.Aggregator.Fleet;
using Drover.Aggregator.Functions;
using Drover.Aggregator.Services;
using Drover.Aggregator.Workloads;
using Drover.Decisions.Balancing;
using Drover.Protocol.Events;

namespace Drover.Aggregator.Balancers;

/// <summary>One side of the coordination as observed this pass: its table, where each entry runs, and where it came from.</summary>
/// <param name="Table">The table: entries in a stable order, with the weights and states last held for them.</param>
/// <param name="Placements">Where each entry's instance runs.</param>
/// <param name="Workload">The gateway workload its weights apply to (a function's name, <c>service/&lt;name&gt;</c>); null for a registered balancer's service.</param>
/// <param name="Balancer">The registration it was read from; null for Drover's own.</param>
/// <param name="Read">The servers as the balancer had them (its entries before coordination); empty for Drover's own.</param>
internal sealed record LbSideView(
    LbTable Table,
    IReadOnlyList<LbPlacement> Placements,
    string? Workload,
    BalancerRegistration? Balancer,
    IReadOnlyList<LbEntry> Read);

/// <summary>
/// Builds the sides of the coordination from what the aggregator holds: the definitions, the nodes, the instance table
/// and the tables held from the last pass. Pure over its inputs; the coordinator reads the balancers.
/// </summary>
internal static class LbObservation
{
    /// <summary>The weight and state of an entry new to its table: HAProxy's default weight, in service.</summary>
    public static readonly (int Weight, LbEntryState State) NewEntry = (1, LbEntryState.Ready);

    /// <summary>A node's site: its <c>site</c> label, else its cluster.</summary>
    public static string SiteOf(NodeView node) => node.Identity.Labels.TryGetValue("site", out var site) && LbLabels.IsLabel(site) ? site : node.Identity.Cluster;

    /// <summary>
    /// A function's table: one entry per instance the instance table holds for it (<paramref name="instances"/>: assigned, whatever its process does:
    /// readiness is the gateway's, not the table's), by instance id, with the weight and state held for it, else <see cref="NewEntry"/>.
    /// </summary>
    public static LbSideView Function(FunctionDefinition function, IEnumerable<InstanceView> instances, IReadOnlyDictionary<string, string> sites, LbTable? held)
    {
        var mine = instances.OrderBy(i => i.InstanceId, StringComparer.Ordinal).ToArray();
        var table = Table(LbSide.Function, function.Name, held?.Policy ?? DefaultFunctionPolicy, mine.Select(i => i.InstanceId), held);
        return new LbSideView(table, Placements(mine, sites, function.DbShard), function.Name, null, []);
    }

    /// <summary>The gateway's choice among a function's nodes: weighted least outstanding requests, as a table's policy.</summary>
    public const string DefaultFunctionPolicy = "least-outstanding";

    /// <summary>A Drover service's table: one entry per instance of its sets (<paramref name="instances"/>), as for a function; its policy is the definition's.</summary>
    public static LbSideView Service(ServiceDefinition service, IEnumerable<InstanceView> instances, IReadOnlyDictionary<string, string> sites, LbTable? held)
    {
        var mine = instances.OrderBy(i => i.InstanceId, StringComparer.Ordinal).ToArray();
        var table = Table(LbSide.Service, service.Name, service.Policy, mine.Select(i => i.InstanceId), held);
        return new LbSideView(table, Placements(mine, sites, service.DbShard), EventChannels.Service(service.Name), null, []);
    }

    /// <summary>
    /// A registered balancer's service: its servers as read, their weights and states as the balancer has them; each placed
    /// by the registration's <c>servers</c>, else on the one node whose address is the server's.
    /// </summary>
    public static LbSideView Balanced(BalancerRegistration registration, IReadOnlyList<ContainerServer> servers, IReadOnlyList<NodeView> nodes, IReadOnlyDictionary<string, string> sites, LbTable? held)
    {
        var entries = servers.Select(s => s.Entry).ToArray();
        var table = new LbTable(LbSide.Service, registration.Service, held?.Version ?? 0, registration.Policy, entries);
        var byAddress = nodes.GroupBy(n => n.Identity.Address, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count() == 1 ? g.First().NodeId : null, StringComparer.Ordinal);
        var placements = servers.Select(server =>
        {
            registration.Servers.TryGetValue(server.Entry.Id, out var declared);
            var node = declared?.Node ?? (byAddress.TryGetValue(server.Address, out var only) ? only : null);
            var site = declared?.Site ?? (node is not null && sites.TryGetValue(node, out var nodeSite) ? nodeSite : null);
            return new LbPlacement(server.Entry.Id, node, site, declared?.DbShard);
        }).ToArray();
        return new LbSideView(table, placements, null, registration, entries);
    }

    /// <summary>The instance table's instances by the workload they are part of: a function's name, or <c>service/&lt;name&gt;</c> for every set of a service.</summary>
    public static ILookup<string, InstanceView> ByWorkload(IReadOnlyList<InstanceView> instances)
        => instances.ToLookup(i => WorkloadKeys.ServiceOf(i.Function) is { } service ? EventChannels.Service(service) : i.Function, StringComparer.Ordinal);

    /// <summary>
    /// Whether <paramref name="function"/> takes part in coordination: it declares <c>colocateWith</c> or <c>dbShard</c>.
    /// Only those functions, the Drover services they may name and the registered balancers' services have tables, so a
    /// fleet of functions that declare nothing costs the coordination nothing.
    /// </summary>
    public static bool Declares(FunctionDefinition function) => function.ColocateWith is not null || function.DbShard is not null;

    /// <summary>Each node's site, by node id.</summary>
    public static IReadOnlyDictionary<string, string> Sites(IReadOnlyList<NodeView> nodes) => nodes.ToDictionary(n => n.NodeId, SiteOf, StringComparer.Ordinal);

    /// <summary>
    /// The associations the definitions declare, between functions and the services observed: <c>colocateWith</c> by node
    /// or site; a <c>dbShard</c> shared with a service's containers. One association per function and service:
    /// <c>colocateWith</c> wins over a shard for the same service. Also, per function, why a declared one has no service.
    /// </summary>
    public static (IReadOnlyList<LbAssociation> Associations, IReadOnlyDictionary<string, string> Unmatched) Associations(
        IReadOnlyList<FunctionDefinition> functions,
        IReadOnlyDictionary<string, LbSideView> services)
    {
        var associations = new List<LbAssociation>();
        var unmatched = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var function in functions.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            string? colocated = null;
            if (function.ColocateWith is { } colocation)
            {
                if (services.ContainsKey(colocation.Service))
                {
                    colocated = colocation.Service;
                    associations.Add(new LbAssociation(function.Name, colocated, colocation.Scope == ColocationDefinition.SiteScope ? AssociationScope.Site : AssociationScope.Node));
                }
                else
                {
                    unmatched[function.Name] = $"colocateWith names service '{colocation.Service}', which is neither a Drover service nor served by a registered balancer";
                }
            }

            if (function.DbShard is { } shard)
            {
                var sharing = services.Values
                    .Where(s => s.Table.Name != colocated && s.Placements.Any(p => p.Shard == shard))
                    .Select(s => s.Table.Name)
                    .Order(StringComparer.Ordinal)
                    .ToArray();
                associations.AddRange(sharing.Select(s => new LbAssociation(function.Name, s, AssociationScope.Shard)));
                if (sharing.Length == 0 && colocated is null && !unmatched.ContainsKey(function.Name))
                {
                    unmatched[function.Name] = $"dbShard '{shard}' is served by no service's container yet";
                }
            }
        }

        return (associations, unmatched);
    }

    /// <summary>The key of an association's memory.</summary>
    public static string KeyOf(LbAssociation association) => $"{association.Function}|{association.Service}";

    private static LbTable Table(LbSide side, string name, string policy, IEnumerable<string> ids, LbTable? held)
    {
        var heldEntries = held?.Entries.ToDictionary(e => e.Id, StringComparer.Ordinal);
        var entries = ids.Select(id => heldEntries is not null && heldEntries.TryGetValue(id, out var entry) ? entry : new LbEntry(id, NewEntry.Weight, NewEntry.State)).ToArray();
        return new LbTable(side, name, held?.Version ?? 0, policy, entries);
    }

    private static LbPlacement[] Placements(IEnumerable<InstanceView> instances, IReadOnlyDictionary<string, string> sites, string? shard)
        => instances.Select(i => new LbPlacement(i.InstanceId, i.AssignedNodeId, sites.TryGetValue(i.AssignedNodeId, out var site) ? site : null, shard)).ToArray();
}
