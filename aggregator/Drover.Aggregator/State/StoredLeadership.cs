using System.Text.Json.Serialization;

namespace Drover.Aggregator.State;

/// <summary>A lone aggregator's leadership, kept in <c>state.db</c>'s decision memory: the store's id and the last term begun.</summary>
internal sealed record StoredLeadership(string StoreId, long Term);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(StoredLeadership))]
internal sealed partial class StoredLeadershipJsonContext : JsonSerializerContext;
