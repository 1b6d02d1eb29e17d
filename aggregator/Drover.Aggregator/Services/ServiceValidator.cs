using Drover.Aggregator.Balancers;
using Drover.Aggregator.Workloads;
using Drover.Protocol;
using Drover.Protocol.Specs;

namespace Drover.Aggregator.Services;

/// <summary>Checks a service definition where it enters; the first bad field is named with its value and what is accepted.</summary>
internal static class ServiceValidator
{
    public const int MaxInstances = 1024;

    /// <summary>Null when the definition is acceptable, else (field, message).</summary>
    public static (string Field, string Message)? Validate(ServiceDefinition definition)
    {
        if (!Names.IsName(definition.Name))
        {
            return ("name", $"name = '{definition.Name}': expected 1-63 characters of a-z 0-9 -, starting with a letter or digit");
        }

        if (!Names.IsId(definition.Version, 32))
        {
            return ("version", $"version = '{definition.Version}': expected 1-32 characters of A-Z a-z 0-9 . _ - (it names the version's set)");
        }

        if (RuntimeValidator.Validate(definition.Runtime) is { } runtimeError)
        {
            return runtimeError;
        }

        if (ShimSettingsValidator.Validate(definition) is { } shimError)
        {
            return shimError;
        }

        if (definition.InstanceCount is < 1 or > MaxInstances)
        {
            return ("instanceCount", $"instanceCount = {definition.InstanceCount}: expected 1-{MaxInstances}");
        }

        if (definition.RoutingField is { } field)
        {
            var header = field.Header is { Length: > 0 };
            var json = field.JsonField is { Length: > 0 };
            if (header == json)
            {
                return ("routingField", "routingField: expected exactly one of {\"header\": NAME} or {\"jsonField\": NAME}");
            }

            if (header && !SpecLimits.IsHeaderName(field.Header))
            {
                return ("routingField.header", $"routingField.header = '{field.Header}': expected a header name");
            }

            if (json && field.JsonField!.Length > 256)
            {
                return ("routingField.jsonField", "routingField.jsonField: expected at most 256 characters");
            }
        }

        if (definition.Policy is not ("least-in-flight" or "power-of-two-choices"))
        {
            return ("policy", $"policy = '{definition.Policy}': expected 'least-in-flight' or 'power-of-two-choices'");
        }

        if (definition.DrainTimeoutMs is < 0 or > 3_600_000)
        {
            return ("drainTimeoutMs", $"drainTimeoutMs = {definition.DrainTimeoutMs}: expected 0-3600000");
        }

        if (definition.CommitIntervalSeconds is < 0 or > 86_400)
        {
            return ("commitIntervalSeconds", $"commitIntervalSeconds = {definition.CommitIntervalSeconds}: expected 0 (off) to 86400");
        }

        if (LbLabels.Check("dbShard", definition.DbShard) is { } shardError)
        {
            return shardError;
        }

        return null;
    }
}
