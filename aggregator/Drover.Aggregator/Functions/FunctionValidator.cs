using Drover.Aggregator.Balancers;
using Drover.Aggregator.Workloads;
using Drover.Decisions.Scaling;
using Drover.Protocol;

namespace Drover.Aggregator.Functions;

/// <summary>Checks a function definition where it enters; the first bad field is named with its value and what is accepted.</summary>
internal static class FunctionValidator
{
    /// <summary>The most instances <c>minInstances</c> and <c>maxInstances</c> may name.</summary>
    public const int MaxInstanceCount = 10_000;

    /// <summary>Null when the definition is acceptable, else (field, message).</summary>
    public static (string Field, string Message)? Validate(FunctionDefinition definition)
    {
        if (!Names.IsName(definition.Name))
        {
            return ("name", $"name = '{definition.Name}': expected 1-63 characters of a-z 0-9 -, starting with a letter or digit");
        }

        if (definition.Version.Length is 0 or > 128)
        {
            return ("version", $"version = '{definition.Version}': expected 1-128 characters");
        }

        if (RuntimeValidator.Validate(definition.Runtime) is { } runtimeError)
        {
            return runtimeError;
        }

        if (ShimSettingsValidator.Validate(definition) is { } shimError)
        {
            return shimError;
        }

        if (definition.CommitIntervalSeconds is < 0 or > 86_400)
        {
            return ("commitIntervalSeconds", $"commitIntervalSeconds = {definition.CommitIntervalSeconds}: expected 0 (off) to 86400");
        }

        var placement = definition.WithDefaults().Placement;
        if (placement is not (FunctionPlacements.EveryNode or FunctionPlacements.Autoscale))
        {
            return ("placement", $"placement = '{placement}': expected '{FunctionPlacements.EveryNode}' or '{FunctionPlacements.Autoscale}'");
        }

        if (definition.Margin is < 0 or > 1000)
        {
            return ("margin", $"margin = {definition.Margin}: expected 0-1000 instances above ceil(queue / slo)");
        }

        if (definition.MinInstances is < 0 or > MaxInstanceCount)
        {
            return ("minInstances", $"minInstances = {definition.MinInstances}: expected 0-{MaxInstanceCount}");
        }

        if (definition.MaxInstances is < 1 or > MaxInstanceCount)
        {
            return ("maxInstances", $"maxInstances = {definition.MaxInstances}: expected 1-{MaxInstanceCount}");
        }

        if (definition.GpuMemoryBytes < 0)
        {
            return ("gpuMemoryBytes", $"gpuMemoryBytes = {definition.GpuMemoryBytes}: expected 0 or more bytes");
        }

        if (definition.ScaleDownWindowSeconds is < 0 or > 86_400)
        {
            return ("scaleDownWindowSeconds", $"scaleDownWindowSeconds = {definition.ScaleDownWindowSeconds}: expected 0 (at once) to 86400");
        }

        if (!GpuRequest.TryParse(definition.Gpu, out var gpu))
        {
            return ("gpu", $"gpu = '{definition.Gpu}': expected {GpuRequest.Forms}");
        }

        if (definition.ColocateWith is { } colocation)
        {
            if (!Names.IsName(colocation.Service))
            {
                return ("colocateWith.service", $"colocateWith.service = '{colocation.Service}': expected a service's name, 1-63 characters of a-z 0-9 -, starting with a letter or digit");
            }

            if (colocation.Scope is not (ColocationDefinition.NodeScope or ColocationDefinition.SiteScope))
            {
                return ("colocateWith.scope", $"colocateWith.scope = '{colocation.Scope}': expected '{ColocationDefinition.NodeScope}' (the same node) or '{ColocationDefinition.SiteScope}' (the same site)");
            }
        }

        if (LbLabels.Check("dbShard", definition.DbShard) is { } shardError)
        {
            return shardError;
        }

        if (placement == FunctionPlacements.EveryNode && definition.MaxInstances is { } ignored)
        {
            // Not accepted and then ignored: a limit that does nothing is a trap.
            return ("maxInstances", $"maxInstances = {ignored}: applies to placement '{FunctionPlacements.Autoscale}'; placement '{FunctionPlacements.EveryNode}' runs one instance on every surviving node (leave maxInstances out, or set placement '{FunctionPlacements.Autoscale}')");
        }

        if (placement == FunctionPlacements.EveryNode && gpu.Kind != GpuRequestKind.Any)
        {
            // Likewise: only the autoscaler gives an instance a GPU; every-node instances are given none to choose.
            return ("gpu", $"gpu = '{definition.Gpu}': applies to placement '{FunctionPlacements.Autoscale}'; placement '{FunctionPlacements.EveryNode}' runs one instance on every surviving node and gives it no GPU of its own (leave gpu out or set it to 'any', or set placement '{FunctionPlacements.Autoscale}')");
        }

        if (placement == FunctionPlacements.Autoscale)
        {
            if (definition.MaxInstances is not { } max)
            {
                return ("maxInstances", $"maxInstances is not set: placement '{FunctionPlacements.Autoscale}' needs 1-{MaxInstanceCount}");
            }

            if (definition.MinInstances > max)
            {
                return ("minInstances", $"minInstances = {definition.MinInstances} is above maxInstances = {max}: expected at most {max}");
            }
        }

        return null;
    }
}
