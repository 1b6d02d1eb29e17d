using System.Text.Json.Serialization;
using Drover.Decisions.Balancing;

namespace Drover.Aggregator.State;

/// <summary>
/// The load-balancing coordination's memory (issue 18), kept whole under one key: every table as last held, with
/// its version and status, and per association (<c>function|service</c>) what the last pass synced.
/// </summary>
internal sealed record StoredLoadBalancing(
    IReadOnlyList<StoredLbTable> Tables,
    IReadOnlyDictionary<string, LbCoordinationMemory> Memories)
{
    public static StoredLoadBalancing Empty { get; } = new([], new Dictionary<string, LbCoordinationMemory>(StringComparer.Ordinal));
}

/// <summary>One table as held: the table, when it last changed (UTC), and what is wrong with it (conflicts, a balancer's error).</summary>
internal sealed record StoredLbTable(LbTable Table, DateTimeOffset ChangedAt, IReadOnlyList<string> Problems);

/// <summary>The JSON of <see cref="StoredLoadBalancing"/> (camelCase, enums by name, source-generated).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true)]
[JsonSerializable(typeof(StoredLoadBalancing))]
internal sealed partial class LoadBalancingJsonContext : JsonSerializerContext;
