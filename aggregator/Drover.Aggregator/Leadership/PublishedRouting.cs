using System.Text.Json;
using System.Text.Json.Serialization;
using Drover.Decisions.Routing;

namespace Drover.Aggregator.Leadership;

/// <summary>
/// The routing table as the leader publishes it in the store's <c>routing</c> row for the other aggregators'
/// gateways: the table's values in JSON (camelCase, source-generated); the version is the row's, not the table's.
/// </summary>
internal sealed record PublishedRouting(
    IReadOnlyList<RouteCluster> Clusters,
    Dictionary<string, string[]> Hosts,
    Dictionary<string, Dictionary<string, int>> Weights,
    bool Degraded,
    string Reason)
{
    public static string Serialize(RoutingTable table) => JsonSerializer.Serialize(
        new PublishedRouting(
            table.Clusters,
            table.Hosts.ToDictionary(h => h.Key, h => h.Value.Order(StringComparer.Ordinal).ToArray(), StringComparer.Ordinal),
            table.Weights.ToDictionary(w => w.Key, w => w.Value.ToDictionary(StringComparer.Ordinal), StringComparer.Ordinal),
            table.Degraded,
            table.Reason),
        PublishedRoutingJsonContext.Default.PublishedRouting);

    /// <summary>The table <paramref name="json"/> holds, at <paramref name="version"/> (the reader's own count); throws <see cref="JsonException"/> when it holds none.</summary>
    public static RoutingTable Deserialize(string json, long version)
    {
        var published = JsonSerializer.Deserialize(json, PublishedRoutingJsonContext.Default.PublishedRouting)
            ?? throw new JsonException("the routing row holds null");
        return new RoutingTable(
            version,
            published.Clusters,
            published.Hosts.ToDictionary(h => h.Key, h => (IReadOnlySet<string>)h.Value.ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal),
            published.Degraded,
            published.Reason)
        {
            Weights = published.Weights.ToDictionary(w => w.Key, w => (IReadOnlyDictionary<string, int>)w.Value, StringComparer.Ordinal),
        };
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(PublishedRouting))]
internal sealed partial class PublishedRoutingJsonContext : JsonSerializerContext;
