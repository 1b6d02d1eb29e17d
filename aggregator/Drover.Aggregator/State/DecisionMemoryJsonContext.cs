using System.Text.Json.Serialization;
using Drover.Aggregator.Clusters;

namespace Drover.Aggregator.State;

/// <summary>The JSON of the decision memory kept in <c>state.db</c> (camelCase, source-generated).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Dictionary<string, DateTimeOffset>))]
[JsonSerializable(typeof(Dictionary<string, StoredScalingWindow>))]
[JsonSerializable(typeof(Dictionary<string, StoredClusterHealth>))]
[JsonSerializable(typeof(ClusterHistoryEntry))]
internal sealed partial class DecisionMemoryJsonContext : JsonSerializerContext;
