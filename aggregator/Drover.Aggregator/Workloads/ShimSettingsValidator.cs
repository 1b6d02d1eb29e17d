using Drover.Protocol.Specs;
using Drover.Protocol.V1;
using Google.Protobuf.WellKnownTypes;

namespace Drover.Aggregator.Workloads;

/// <summary>Checks the shim settings of a definition, and turns them into the agents' ShimSpec.</summary>
internal static class ShimSettingsValidator
{
    private static readonly int MaxTimeoutMs = (int)SpecLimits.MaxTimeout.TotalMilliseconds;

    /// <summary>Null when acceptable, else (field, message).</summary>
    public static (string Field, string Message)? Validate(IShimSettings settings)
    {
        if (settings.ShimMode is not ("http" or "stdio"))
        {
            return ("shimMode", $"shimMode = '{settings.ShimMode}': expected 'http' or 'stdio'");
        }

        if (settings.Slo is < 1 or > SpecLimits.MaxConcurrency)
        {
            return ("slo", $"slo = {settings.Slo}: expected 1-{SpecLimits.MaxConcurrency} concurrent requests per instance");
        }

        if (settings.QueueLength is < 0 or > SpecLimits.MaxQueueLength)
        {
            return ("queueLength", $"queueLength = {settings.QueueLength}: expected 0-{SpecLimits.MaxQueueLength}");
        }

        if (settings.TimeoutMs < 1 || settings.TimeoutMs > MaxTimeoutMs)
        {
            return ("timeoutMs", $"timeoutMs = {settings.TimeoutMs}: expected 1-{MaxTimeoutMs}");
        }

        if (settings.EventHeaders is null || settings.EventHeaders.Count > SpecLimits.MaxEventHeaders)
        {
            return ("eventHeaders", $"eventHeaders: expected at most {SpecLimits.MaxEventHeaders} header names");
        }

        foreach (var header in settings.EventHeaders)
        {
            if (!SpecLimits.IsHeaderName(header))
            {
                return ("eventHeaders", $"eventHeaders: '{header}' is not a header name; expected 1-128 characters of A-Z a-z 0-9 and !#$%&'*+-.^_`|~");
            }
        }

        if (settings.HealthPath is null || (settings.HealthPath.Length > 0 && (settings.HealthPath[0] != '/' || settings.HealthPath.Length > SpecLimits.MaxHealthPathLength || settings.HealthPath.Any(char.IsControl))))
        {
            return ("healthPath", $"healthPath = '{settings.HealthPath}': expected empty, or a path of at most {SpecLimits.MaxHealthPathLength} characters starting with '/'");
        }

        if (settings.ShimMode == "stdio" && settings.HealthPath.Length > 0)
        {
            return ("healthPath", "healthPath is for shimMode 'http': a stdio instance runs one process per request and has nothing to probe");
        }

        return null;
    }

    /// <summary>The ShimSpec of validated settings, with the hashes of the workload's invocation keys.</summary>
    public static ShimSpec ToSpec(IShimSettings settings, IReadOnlyList<string> keyHashes)
    {
        var spec = new ShimSpec
        {
            Mode = settings.ShimMode == "stdio" ? ShimMode.Stdio : ShimMode.Http,
            Concurrency = (uint)settings.Slo,
            QueueLength = (uint)settings.QueueLength,
            Timeout = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(settings.TimeoutMs)),
            HealthPath = settings.HealthPath,
            Public = settings.Public,
        };
        spec.EventHeaders.Add(settings.EventHeaders);
        spec.KeySha256.Add(keyHashes);
        return spec;
    }
}
