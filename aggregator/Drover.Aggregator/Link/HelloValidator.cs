using System.Buffers;
using Drover.Aggregator.Fleet;
using Drover.Protocol.V1;

namespace Drover.Aggregator.Link;

/// <summary>
/// Checks a Hello where it enters. Every bound is one a peer could otherwise choose freely; a bad
/// field is named with its value and what is accepted.
/// </summary>
internal static class HelloValidator
{
    public const int MaxNodeIdLength = 64;
    public const int MaxClusterLength = 63;
    public const int MaxLabels = 64;
    public const int MaxLabelKeyLength = 63;
    public const int MaxLabelValueLength = 256;
    public const int MaxVersionLength = 64;
    public const int MaxHostnameLength = 255;
    public const int MaxServerNumber = 65535;

    private static readonly SearchValues<char> IdChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

    private static readonly SearchValues<char> ClusterChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789-");

    /// <summary>Returns the accepted identity, or the field and reason of the first bad value.</summary>
    public static (NodeIdentity? Identity, string? Field, string? Reason) Validate(Hello hello)
    {
        if (hello.NodeId.Length is 0 or > MaxNodeIdLength || hello.NodeId.AsSpan().ContainsAnyExcept(IdChars))
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

        if (!IsClusterName(hello.Cluster))
        {
            return Bad("cluster", hello.Cluster, $"1-{MaxClusterLength} characters of a-z 0-9 -, not starting with -");
        }

        if (hello.Labels.Count > MaxLabels)
        {
            return Bad("labels", $"{hello.Labels.Count} entries", $"at most {MaxLabels} entries");
        }

        foreach (var (key, value) in hello.Labels)
        {
            if (key.Length is 0 or > MaxLabelKeyLength || key.AsSpan().ContainsAnyExcept(IdChars))
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
            hello.Gpus.Count);
        return (identity, null, null);
    }

    /// <summary>Whether a name is a valid cluster name (also used for configuration).</summary>
    public static bool IsClusterName(string name)
        => name.Length is > 0 and <= MaxClusterLength && name[0] != '-' && !name.AsSpan().ContainsAnyExcept(ClusterChars);

    private static (NodeIdentity?, string?, string?) Bad(string field, string value, string accepted)
        => (null, field, $"hello.{field} = '{value}' is not accepted; expected {accepted}");
}
