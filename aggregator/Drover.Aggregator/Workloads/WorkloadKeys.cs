namespace Drover.Aggregator.Workloads;

/// <summary>
/// The key an instance's workload has in the instance table and in placement: a function's name, or
/// <c>service/&lt;name&gt;@&lt;version&gt;</c> for the set of one version of a service.
/// </summary>
internal static class WorkloadKeys
{
    public static string ServiceSet(string service, string version) => $"service/{service}@{version}";

    /// <summary>The service a key names a set of, or null for a function's key.</summary>
    public static string? ServiceOf(string key)
    {
        if (!key.StartsWith("service/", StringComparison.Ordinal))
        {
            return null;
        }

        var at = key.IndexOf('@', StringComparison.Ordinal);
        return at < 0 ? null : key["service/".Length..at];
    }

    /// <summary>A prefix for new instance ids of the workload: short, and of instance-id characters only.</summary>
    public static string InstancePrefix(string key)
    {
        var prefix = new string(key.Replace("service/", "", StringComparison.Ordinal).Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-').ToArray());
        return prefix.Length <= 48 ? prefix : prefix[..48];
    }
}
