using System.Collections.Frozen;

namespace Drover.Decisions.Balancing;

/// <summary>Whether a backend of a load-balancing table takes requests (HAProxy's server states).</summary>
public enum LbEntryState
{
    /// <summary>Takes requests (<c>"ready"</c>).</summary>
    Ready,

    /// <summary>Finishes the requests it has, takes no new ones (<c>"drain"</c>).</summary>
    Drain,

    /// <summary>Out of service: takes nothing (<c>"maint"</c>).</summary>
    Maint,
}

/// <summary>One backend of a load-balancing table.</summary>
/// <param name="Id">The backend: a container id (service side) or a function instance id (function side).</param>
/// <param name="Weight">0-256, as in HAProxy: its share of the table's traffic.</param>
/// <param name="State">Whether it takes requests.</param>
public sealed record LbEntry(string Id, int Weight, LbEntryState State);

/// <summary>Which kind of workload a load-balancing table serves.</summary>
public enum LbSide
{
    /// <summary>A service's table: one entry per container.</summary>
    Service,

    /// <summary>A function's table: one entry per function instance.</summary>
    Function,
}

/// <summary>A versioned load-balancing configuration: the backends of one service or one function, and its policy.</summary>
/// <param name="Side">Whether it belongs to a service or a function.</param>
/// <param name="Name">The service's or the function's name.</param>
/// <param name="Version">Grows by one with every change coordination makes.</param>
/// <param name="Policy">The balancing algorithm's name (for example <c>roundrobin</c>, <c>leastconn</c>).</param>
/// <param name="Entries">The backends, in the table's order.</param>
public sealed record LbTable(LbSide Side, string Name, long Version, string Policy, IReadOnlyList<LbEntry> Entries);

/// <summary>By what a function's instances and a service's containers are matched one to one.</summary>
public enum AssociationScope
{
    /// <summary>Instances on the same node.</summary>
    Node,

    /// <summary>Instances on the same site.</summary>
    Site,

    /// <summary>Instances serving the same database shard.</summary>
    Shard,
}

/// <summary>A function whose load-balancing table is kept in step with a service's.</summary>
/// <param name="Function">The function's name.</param>
/// <param name="Service">The service's name.</param>
/// <param name="Scope">How their instances are paired.</param>
public sealed record LbAssociation(string Function, string Service, AssociationScope Scope);

/// <summary>Where one entry's instance is; each key may be null (unknown), and a null key pairs with nothing.</summary>
/// <param name="Id">The entry's id (a container id or a function instance id).</param>
/// <param name="Node">The node it runs on.</param>
/// <param name="Site">The site it runs at.</param>
/// <param name="Shard">The database shard it serves.</param>
public sealed record LbPlacement(string Id, string? Node, string? Site, string? Shard);

/// <summary>A container and the function instance whose table entries are kept equal.</summary>
/// <param name="ContainerId">The service side's entry id.</param>
/// <param name="FunctionInstanceId">The function side's entry id.</param>
public sealed record LbPair(string ContainerId, string FunctionInstanceId);

/// <summary>Why an association, or some of its instances, are not coordinated.</summary>
/// <param name="Function">The association's function.</param>
/// <param name="Service">The association's service.</param>
/// <param name="Reason">One sentence naming the ids involved.</param>
public sealed record LbConflict(string Function, string Service, string Reason);

/// <summary>The pairs of one association, and the instances left unpaired because pairing them would be a guess.</summary>
/// <param name="Pairs">One pair per matched container, sorted by container id (ordinal).</param>
/// <param name="Conflicts">The ambiguous matches, with the ids involved.</param>
public sealed record LbPairing(IReadOnlyList<LbPair> Pairs, IReadOnlyList<LbConflict> Conflicts);

/// <summary>
/// What coordination remembers between passes for one association: the entries and policies as they were
/// after the last pass (so a pass can tell which side moved), and the pairs it used. Plain data: the host
/// persists it as JSON and hands the last one back on the next pass.
/// </summary>
/// <param name="ServicePolicy">The service table's policy after the last pass; null before the first.</param>
/// <param name="FunctionPolicy">The function table's policy after the last pass; null before the first.</param>
/// <param name="ServiceEntries">The last synced entry per container id.</param>
/// <param name="FunctionEntries">The last synced entry per function instance id.</param>
/// <param name="Pairs">The pairs used by the last pass.</param>
/// <param name="Retired">
/// The containers the coordination itself put in maintenance because their function instance was removed, and which
/// are still unpaired and in maintenance: a new instance paired with one brings it back into service. Null (a memory
/// kept before the field): none.
/// </param>
public sealed record LbCoordinationMemory(
    string? ServicePolicy,
    string? FunctionPolicy,
    IReadOnlyDictionary<string, LbEntry> ServiceEntries,
    IReadOnlyDictionary<string, LbEntry> FunctionEntries,
    IReadOnlyList<LbPair> Pairs,
    IReadOnlyList<string>? Retired = null)
{
    /// <summary>Nothing remembered: before the first pass. Every entry then counts as new.</summary>
    public static LbCoordinationMemory Empty { get; } = new(
        null,
        null,
        FrozenDictionary<string, LbEntry>.Empty,
        FrozenDictionary<string, LbEntry>.Empty,
        []);
}

/// <summary>One coordination pass's outcome: the tables to hold now, what changed and why, and the next memory.</summary>
/// <param name="Service">The service table to hold now; the given instance when unchanged.</param>
/// <param name="Function">The function table to hold now; the given instance when unchanged.</param>
/// <param name="ServiceChanged">The service table differs from the given one (its version is then one higher).</param>
/// <param name="FunctionChanged">The function table differs from the given one (its version is then one higher).</param>
/// <param name="Conflicts">The pairing's conflicts, passed through.</param>
/// <param name="Changes">One sentence per change made.</param>
/// <param name="Memory">The memory to hand to the next pass.</param>
public sealed record LbCoordinationResult(
    LbTable Service,
    LbTable Function,
    bool ServiceChanged,
    bool FunctionChanged,
    IReadOnlyList<LbConflict> Conflicts,
    IReadOnlyList<string> Changes,
    LbCoordinationMemory Memory);
