using System.Text.Json.Serialization;

namespace Drover.Gateway;

/// <summary>The gateway's JSON bodies, serialized without reflection.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GatewayError))]
internal sealed partial class GatewayJsonContext : JsonSerializerContext;
