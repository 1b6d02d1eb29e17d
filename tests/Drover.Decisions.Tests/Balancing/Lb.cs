using Drover.Decisions.Balancing;

namespace Drover.Decisions.Tests.Balancing;

/// <summary>Short builders for the balancing tables: an entry's setting is written "weight state", e.g. "10 ready".</summary>
internal static class Lb
{
    public const string Service = "db";
    public const string Function = "f";

    public static LbEntry E(string id, string setting)
    {
        var parts = setting.Split(' ');
        return new LbEntry(id, int.Parse(parts[0]), Enum.Parse<LbEntryState>(parts[1], ignoreCase: true));
    }

    public static LbTable ServiceTable(params LbEntry[] entries) => new(LbSide.Service, Service, 1, "roundrobin", entries);

    public static LbTable FunctionTable(params LbEntry[] entries) => new(LbSide.Function, Function, 1, "roundrobin", entries);

    public static LbPairing Pairing(params (string Container, string Instance)[] pairs)
        => new(pairs.Select(p => new LbPair(p.Container, p.Instance)).ToArray(), []);

    /// <summary>The memory a pass would have left had it produced exactly these tables with these pairs.</summary>
    public static LbCoordinationMemory Synced(LbTable service, LbTable function, params (string Container, string Instance)[] pairs)
        => Remember(service.Policy, function.Policy, service.Entries, function.Entries, pairs);

    public static LbCoordinationMemory Remember(
        string? servicePolicy, string? functionPolicy, IEnumerable<LbEntry> service, IEnumerable<LbEntry> function, params (string Container, string Instance)[] pairs)
        => new(
            servicePolicy,
            functionPolicy,
            service.ToDictionary(e => e.Id, StringComparer.Ordinal),
            function.ToDictionary(e => e.Id, StringComparer.Ordinal),
            pairs.Select(p => new LbPair(p.Container, p.Instance)).ToArray());

    public static string Setting(LbEntry entry) => $"{entry.Weight} {entry.State.ToString().ToLowerInvariant()}";

    public static LbEntry Entry(LbTable table, string id) => table.Entries.Single(e => e.Id == id);
}
