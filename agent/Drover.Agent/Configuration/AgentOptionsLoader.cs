using System.Globalization;
using Drover.Agent.Instances;
using Drover.Protocol;
using Drover.Protocol.Nodes;
using Drover.Protocol.Snapshots;
using Drover.Protocol.Specs;
using Serilog.Events;

namespace Drover.Agent.Configuration;

/// <summary>
/// Reads the agent's configuration from its file, <c>DROVER_</c> environment variables and the
/// command line, and checks every value where it enters. The first bad value becomes one line
/// naming the key, the value and what is accepted; the agent then exits with 78 (EX_CONFIG).
/// </summary>
internal static partial class AgentOptionsLoader
{
    public const string DefaultConfigFile = "/etc/drover/agent.json";
    public const string EnvironmentPrefix = "DROVER_";

    /// <summary>The smallest maxStateBytes: 1 MiB.</summary>
    public const long MinStateBytes = 1024 * 1024;

    /// <summary>The bounds of outputLogMaxBytes: 64 KiB to 1 TiB.</summary>
    public const long MinOutputLogBytes = 64 * 1024;
    public const long MaxOutputLogBytes = 1024L * 1024 * 1024 * 1024;

    public static IConfigurationRoot BuildConfiguration(string[] args) => ConfigurationSources.Build(args, DefaultConfigFile, EnvironmentPrefix);

    public static AgentOptions Load(IConfiguration configuration)
    {
        var options = new AgentOptions();
        try
        {
            configuration.Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the key, the value and the type it wanted.
            throw new ConfigurationException(ex.Message, ex);
        }

        if (options.Aggregators.Count == 0)
        {
            options.Aggregators.Add(options.DefaultAggregator);
        }

        Validate(options);
        return options;
    }

    internal static void Validate(AgentOptions o)
    {
        if (o.ServerNumber is < 1 or > 65535)
        {
            Fail("serverNumber", o.ServerNumber == 0 ? "" : Invariant(o.ServerNumber), "a whole number from 1 to 65535, unique in the cluster (it has no default)");
        }

        CheckRange("port", o.Port, 1, 65535);
        CheckRange("weight", o.Weight, NodeLimits.MinWeight, NodeLimits.MaxWeight);
        CheckRange("priority", o.Priority, NodeLimits.MinPriority, NodeLimits.MaxPriority);
        // IPAddress.TryParse also takes "1" as 0.0.0.1: an IPv4 address must have its four parts.
        if (!System.Net.IPAddress.TryParse(o.ShimListenAddress, out var shimAddress)
            || (shimAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && o.ShimListenAddress.Split('.').Length != 4))
        {
            Fail("shimListenAddress", o.ShimListenAddress, "an IP address such as 0.0.0.0 (every interface), 127.0.0.1 or ::");
        }

        if (!Names.IsName(o.Cluster))
        {
            Fail("cluster", o.Cluster, "1-63 characters of a-z 0-9 -, not starting with -");
        }

        for (var i = 0; i < o.Aggregators.Count; i++)
        {
            var address = o.Aggregators[i];
            var scheme = o.Insecure ? "http" : "https";
            if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || uri.Scheme != scheme || uri.Port <= 0)
            {
                Fail($"aggregators:{i}", address, o.Insecure
                    ? "an absolute http:// address with a port, such as http://127.0.0.1:7401 (insecure: true dials in plain text)"
                    : "an absolute https:// address with a port, such as https://127.0.0.1:7401 (the link is mutual TLS; insecure: true for plain text)");
            }
        }

        if (!o.Insecure)
        {
            foreach (var (key, value) in new[] { ("linkCertificateFile", o.LinkCertificateFile), ("linkKeyFile", o.LinkKeyFile), ("linkCaFile", o.LinkCaFile) })
            {
                if (string.IsNullOrWhiteSpace(value))
                {
                    Fail(key, value, "a PEM file: the link is mutual TLS (drover-aggregator certs issue --node NAME gives this node's certificate and key, ca.crt is the CA); or insecure: true for plain text on a trusted network");
                }
            }
        }

        if (o.AdvertiseAddress.Length > 0 && Uri.CheckHostName(o.AdvertiseAddress) == UriHostNameType.Unknown)
        {
            Fail("advertiseAddress", o.AdvertiseAddress, "a host name or an IP address (at most 255 characters), or empty for the address the aggregator sees");
        }

        if (o.Labels.Count > 64)
        {
            Fail("labels", $"{o.Labels.Count} entries", "at most 64 labels");
        }

        foreach (var (key, value) in o.Labels)
        {
            if (!Names.IsId(key, Names.MaxNameLength) || value.Length > 256)
            {
                Fail($"labels:{key}", value, "a key of 1-63 characters of A-Z a-z 0-9 . _ - and a value of at most 256 characters");
            }
        }

        if (string.IsNullOrWhiteSpace(o.StateDirectory))
        {
            Fail("stateDirectory", o.StateDirectory, "a directory path");
        }

        if (!Enum.TryParse<LogEventLevel>(o.LogLevel, ignoreCase: true, out _))
        {
            Fail("logLevel", o.LogLevel, "one of Verbose, Debug, Information, Warning, Error, Fatal");
        }

        CheckRange("heartbeatIntervalMs", o.HeartbeatIntervalMs, 50, 60_000);
        CheckRange("reconnectInitialBackoffMs", o.ReconnectInitialBackoffMs, 10, 60_000);
        CheckRange("reconnectMaxBackoffMs", o.ReconnectMaxBackoffMs, o.ReconnectInitialBackoffMs, 600_000);
        CheckRange("connectTimeoutMs", o.ConnectTimeoutMs, 100, 120_000);
        CheckRange("telemetryIntervalMs", o.TelemetryIntervalMs, 100, 60_000);
        CheckRange("processSampleIntervalMs", o.ProcessSampleIntervalMs, o.TelemetryIntervalMs, 3_600_000);
        CheckRange("gpuReprobeIntervalMs", o.GpuReprobeIntervalMs, 100, 3_600_000);
        CheckRange("reportedQueueStalenessMs", o.ReportedQueueStalenessMs, 100, 600_000);
        CheckRange("nvmlCallTimeoutMs", o.NvmlCallTimeoutMs, 100, 600_000);
        CheckRange("xidHoldSeconds", o.XidHoldSeconds, 0, 86_400);
        CheckRange("instanceRestartMaxBackoffMs", o.InstanceRestartMaxBackoffMs, 100, 600_000);
        CheckRange("instanceCrashLoopLimit", o.InstanceCrashLoopLimit, 1, 1000);
        CheckRange("instanceStopGraceMs", o.InstanceStopGraceMs, 0, 600_000);
        CheckRange("maxStateBytes", o.MaxStateBytes, MinStateBytes, SnapshotLimits.MaxSnapshotBytes, " (the largest snapshot the aggregator stores)");
        CheckRange("outputLogMaxBytes", o.OutputLogMaxBytes, MinOutputLogBytes, MaxOutputLogBytes);
        if (!Path.IsPathFullyQualified(o.LocalSocketPath) || System.Text.Encoding.UTF8.GetByteCount(o.LocalSocketPath) > 107)
        {
            Fail("localSocketPath", o.LocalSocketPath, "an absolute path of at most 107 bytes (the limit of a Unix socket address)");
        }
        if (o.NvmlLibraryPath.Length > 0 && !Path.IsPathFullyQualified(o.NvmlLibraryPath))
        {
            Fail("nvmlLibraryPath", o.NvmlLibraryPath, "an absolute path to libnvidia-ml.so.1, or empty for the driver's own");
        }

        // LD_PRELOAD splits its list at spaces and colons: a path with either would preload something else.
        if (!Path.IsPathFullyQualified(o.GpuProbeLibraryPath) || o.GpuProbeLibraryPath.IndexOfAny([' ', ':', '\t', '\n']) >= 0)
        {
            Fail("gpuProbeLibraryPath", o.GpuProbeLibraryPath, "an absolute path to libdrover-cuda-probe.so without spaces or colons");
        }

        if (o.GpuProbeDirectory.Length > 0 && !Path.IsPathFullyQualified(o.GpuProbeDirectory))
        {
            Fail("gpuProbeDirectory", o.GpuProbeDirectory, "an absolute path, or empty for gpu-probe beside the local socket");
        }

        CheckRange("gpuProbeStalenessMs", o.GpuProbeStalenessMs, 200, 600_000);

        ValidateRuntimes(o.Runtimes);
    }

    /// <summary>The most entries of runtimes, and of one entry's env.</summary>
    public const int MaxRuntimes = 256;

    private static void ValidateRuntimes(List<RuntimeEntry> runtimes)
    {
        if (runtimes.Count > MaxRuntimes)
        {
            Fail("runtimes", $"{runtimes.Count} entries", $"at most {MaxRuntimes} entries");
        }

        for (var i = 0; i < runtimes.Count; i++)
        {
            var entry = runtimes[i];
            if (RuntimeAllowlist.CheckEntryPath(entry.Path) is { } pathError)
            {
                Fail($"runtimes:{i}:path", entry.Path, pathError);
            }

            if (entry.User.Length == 0 && LibC.IsRoot)
            {
                Fail($"runtimes:{i}:user", "", "an unprivileged user for its instances (nobody, or one made for them): the agent runs as root, and an instance never does");
            }

            if (entry.User.Length > 0)
            {
                if (!UserName().IsMatch(entry.User))
                {
                    Fail($"runtimes:{i}:user", entry.User, "a user name of 1-32 characters of a-z 0-9 _ . -, starting with a letter or _, or empty to run as the agent's user");
                }

                if (LibC.LookUpUser(entry.User) is not { } user)
                {
                    Fail($"runtimes:{i}:user", entry.User, "an existing user (none of that name is known on this host)");
                }
                else if (user.Uid == 0)
                {
                    Fail($"runtimes:{i}:user", entry.User, "an unprivileged user, not uid 0");
                }
                else if (!LibC.IsRoot && user.Uid != LibC.EffectiveUserId)
                {
                    Fail($"runtimes:{i}:user", entry.User, $"empty or the agent's own user: the agent runs as uid {LibC.EffectiveUserId} and only root can run instances as another user");
                }
                else if (RuntimeGrant.SetPriv is null)
                {
                    Fail($"runtimes:{i}:user", entry.User, "empty: running as another user needs setpriv (util-linux), which is not installed");
                }
            }

            if (entry.Env.Count > SpecLimits.MaxEnv)
            {
                Fail($"runtimes:{i}:env", $"{entry.Env.Count} entries", $"at most {SpecLimits.MaxEnv} names");
            }

            for (var j = 0; j < entry.Env.Count; j++)
            {
                if (!SpecLimits.IsEnvName(entry.Env[j]))
                {
                    Fail($"runtimes:{i}:env:{j}", entry.Env[j], "a variable name of [A-Za-z_][A-Za-z0-9_]*");
                }
            }
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[a-z_][a-z0-9_.-]{0,31}$")]
    private static partial System.Text.RegularExpressions.Regex UserName();

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static void CheckRange(string key, long value, long min, long max, string why = "")
    {
        if (value < min || value > max)
        {
            Fail(key, value.ToString(CultureInfo.InvariantCulture), $"a whole number of bytes from {min} to {max}{why}");
        }
    }

    private static void CheckRange(string key, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            Fail(key, Invariant(value), $"a whole number from {min} to {max}");
        }
    }

    private static void Fail(string key, string? value, string accepted)
        => throw new ConfigurationException($"{key} = '{value}': expected {accepted}");
}
