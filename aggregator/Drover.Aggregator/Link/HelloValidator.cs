using Drover.Aggregator.Fleet;
using Drover.Protocol;
using Drover.Protocol.Nodes;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Link;

/// <summary>
/// Checks a Hello where it enters. Every bound is one a peer could otherwise choose freely; a bad
/// field is named with its value and what is accepted.
/// </summary>
internal static class HelloValidator
{
    public const int MaxNodeIdLength = Names.MaxIdLength;
    public const int MaxClusterLength = Names.MaxNameLength;
    public const int MaxLabels = 64;
    public const int MaxLabelKeyLength = 63;
    public const int MaxLabelValueLength = 256;
    public const int MaxVersionLength = 64;
    public const int MaxHostnameLength = 255;
    public const int MaxServerNumber = 65535;

    /// <summary>Returns the accepted identity, or the field and reason of the first bad value.</summary>
    public static (NodeIdentity? Identity, string? Field, string? Reason) Validate(Hello hello)
    {
        if (!Names.IsId(hello.NodeId, MaxNodeIdLength))
        {
            return Bad("nodeId", hello.NodeId, $"1-{MaxNodeIdLength} characters of A-Z a-z 0-9 . _ -");
        }

        if (hello.ServerNumber is 0 or > MaxServerNumber)
        {
            return Bad("serverNumber", hello.ServerNumber.ToString(System.Globalization.CultureInfo.InvariantCulture), $"1-{MaxServerNumber}");
        }

        if (hello.Port is 0 or > 65535)
        {
            return Bad("port", hello.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "1-65535");
        }

        if (!Names.IsName(hello.Cluster))
        {
            return Bad("cluster", hello.Cluster, $"1-{MaxClusterLength} characters of a-z 0-9 -, not starting with -");
        }

        if (hello.Labels.Count > MaxLabels)
        {
            return Bad("labels", $"{hello.Labels.Count} entries", $"at most {MaxLabels} entries");
        }

        foreach (var (key, value) in hello.Labels)
        {
            if (!Names.IsId(key, MaxLabelKeyLength))
            {
                return Bad("labels", key, $"keys of 1-{MaxLabelKeyLength} characters of A-Z a-z 0-9 . _ -");
            }

            if (value.Length > MaxLabelValueLength)
            {
                return Bad($"labels.{key}", $"{value.Length} characters", $"at most {MaxLabelValueLength} characters");
            }
        }

        if (hello.AgentVersion.Length > MaxVersionLength)
        {
            return Bad("agentVersion", $"{hello.AgentVersion.Length} characters", $"at most {MaxVersionLength} characters");
        }

        if (hello.Hostname.Length > MaxHostnameLength)
        {
            return Bad("hostname", $"{hello.Hostname.Length} characters", $"at most {MaxHostnameLength} characters");
        }

        if (hello.AdvertiseAddress.Length > 0 && (hello.AdvertiseAddress.Length > MaxHostnameLength || Uri.CheckHostName(hello.AdvertiseAddress) == UriHostNameType.Unknown))
        {
            return Bad("advertiseAddress", hello.AdvertiseAddress.Length > MaxHostnameLength ? $"{hello.AdvertiseAddress.Length} characters" : hello.AdvertiseAddress, "a host name or an IP address of at most 255 characters, or empty");
        }

        if (hello.HasWeight && hello.Weight > NodeLimits.MaxWeight)
        {
            return Bad("weight", hello.Weight.ToString(System.Globalization.CultureInfo.InvariantCulture), $"a whole number from {NodeLimits.MinWeight} to {NodeLimits.MaxWeight}");
        }

        if (hello.HasPriority && hello.Priority is < NodeLimits.MinPriority or > NodeLimits.MaxPriority)
        {
            return Bad("priority", hello.Priority.ToString(System.Globalization.CultureInfo.InvariantCulture), $"a whole number from {NodeLimits.MinPriority} to {NodeLimits.MaxPriority}");
        }

        var (gpuTelemetry, statusError) = TelemetryValidator.Status(hello.GpuTelemetry, "gpuTelemetry");
        if (statusError is not null)
        {
            return (null, "gpuTelemetry", $"hello.{statusError}");
        }

        var inventoryError = TelemetryValidator.Inventory(hello.Gpus, "gpus");
        if (inventoryError is not null)
        {
            return (null, "gpus", $"hello.{inventoryError}");
        }

        var identity = new NodeIdentity(
            hello.NodeId,
            (int)hello.ServerNumber,
            (int)hello.Port,
            hello.Cluster,
            new Dictionary<string, string>(hello.Labels, StringComparer.Ordinal),
            hello.AgentVersion,
            hello.Hostname,
            gpuTelemetry!,
            hello.Gpus.Count(g => g.ParentUuid.Length == 0),
            hello.AdvertiseAddress,
            hello.HasWeight ? (int)hello.Weight : null,
            hello.HasPriority ? hello.Priority : null,
            hello.AnswersProbes);
        return (identity, null, null);
    }


    private static (NodeIdentity?, string?, string?) Bad(string field, string value, string accepted)
        => (null, field, $"hello.{field} = '{value}' is not accepted; expected {accepted}");
}
