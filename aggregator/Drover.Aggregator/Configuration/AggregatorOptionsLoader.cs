using System.Globalization;
using System.Net;
using Drover.Protocol;
using Serilog.Events;

namespace Drover.Aggregator.Configuration;

/// <summary>
/// Reads the aggregator's configuration from its file, the environment and the command line, and
/// checks every value. A bad value is reported as one line naming the key, the value and what is
/// accepted; the caller stops the process with exit code 78 (EX_CONFIG).
/// </summary>
internal static class AggregatorOptionsLoader
{
    public const string DefaultConfigFile = "/etc/drover/aggregator.json";
    public const string EnvironmentPrefix = "DROVER_AGGREGATOR_";

    /// <summary>Builds the configuration: file (named by --config, optional when defaulted), environment, command line.</summary>
    public static IConfigurationRoot BuildConfiguration(string[] args) => ConfigurationSources.Build(args, DefaultConfigFile, EnvironmentPrefix);

    /// <summary>Binds and validates; throws <see cref="ConfigurationException"/> naming the first bad key.</summary>
    public static AggregatorOptions Load(IConfiguration configuration)
    {
        var options = new AggregatorOptions();
        try
        {
            configuration.Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the key, the value and the type it wanted.
            throw new ConfigurationException(ex.Message, ex);
        }

        Validate(options);
        return options;
    }

    internal static void Validate(AggregatorOptions o)
    {
        if (!IPAddress.TryParse(o.ListenAddress, out _))
        {
            Fail("listenAddress", o.ListenAddress, "an IPv4 or IPv6 address such as 127.0.0.1 or 0.0.0.0");
        }

        CheckRange("httpPort", o.HttpPort, 1, 65535);
        CheckRange("linkPort", o.LinkPort, 1, 65535);
        if (o.HttpPort == o.LinkPort)
        {
            Fail("linkPort", o.LinkPort.ToString(CultureInfo.InvariantCulture), "a port different from httpPort");
        }

        CheckRange("heartbeatIntervalMs", o.HeartbeatIntervalMs, 50, 60_000);
        CheckRange("missedHeartbeats", o.MissedHeartbeats, 1, 100);
        CheckRange("monitorPeriodMs", o.MonitorPeriodMs, 10, 60_000);
        CheckRange("balancerPollPeriodMs", o.BalancerPollPeriodMs, 100, 3_600_000);
        CheckRange("balancerTimeoutMs", o.BalancerTimeoutMs, 10, 60_000);
        CheckRange("metricsSeriesLimit", o.MetricsSeriesLimit, 100, 1_000_000);
        CheckRange("probeTimeoutMs", o.ProbeTimeoutMs, 10, 60_000);
        CheckRange("helloTimeoutMs", o.HelloTimeoutMs, 100, 300_000);
        CheckRange("linkSendTimeoutMs", o.LinkSendTimeoutMs, 100, 300_000);
        CheckRange("restartGraceMs", o.RestartGraceMs, 0, 3_600_000);
        CheckRange("maxNodesPerCluster", o.MaxNodesPerCluster, 1, 100_000);
        if (Link.AdvertisedAddress.Parse(o.AdvertiseAddressesAllowed).Error is { } advertiseError)
        {
            throw new ConfigurationException($"advertiseAddressesAllowed: {advertiseError}");
        }

        CheckRange("linkKeepAlivePingDelayMs", o.LinkKeepAlivePingDelayMs, 1000, 3_600_000);
        CheckRange("linkKeepAlivePingTimeoutMs", o.LinkKeepAlivePingTimeoutMs, 1000, 3_600_000);
        CheckRange("httpMaxConnections", o.HttpMaxConnections, 1, 1_000_000);
        CheckRange("requestHeadersTimeoutMs", o.RequestHeadersTimeoutMs, 1000, 300_000);
        CheckRange("linkMaxConnections", o.LinkMaxConnections, 1, 1_000_000);
        CheckRange("eventHistoryPerChannel", o.EventHistoryPerChannel, 1, 1_000_000);
        CheckRange("maxEventChannels", o.MaxEventChannels, 1, 1_000_000);
        CheckRange("maxEventSubscribers", o.MaxEventSubscribers, 1, 100_000);
        CheckRange("uploadsPerNode", o.UploadsPerNode, 1, State.SnapshotAssembler.DefaultMaxConcurrentUploads);
        CheckRange("uploadBytesPerNode", o.UploadBytesPerNode, State.SnapshotAssembler.DefaultMaxSnapshotBytes, State.SnapshotAssembler.DefaultMaxSnapshotBytes * State.SnapshotAssembler.DefaultMaxConcurrentUploads);
        CheckRange("stateVersionsKept", o.StateVersionsKept, 1, 1000);
        CheckRange("deletedStateGraceSeconds", o.DeletedStateGraceSeconds, 600, 365 * 24 * 60 * 60);
        CheckRange("lostNodeRetentionSeconds", o.LostNodeRetentionSeconds, 60, 365 * 24 * 60 * 60);
        if (double.IsNaN(o.MinimumSurvivalRatio) || o.MinimumSurvivalRatio <= 0 || o.MinimumSurvivalRatio > 1)
        {
            Fail("minimumSurvivalRatio", o.MinimumSurvivalRatio.ToString(CultureInfo.InvariantCulture), "a number above 0 and at most 1");
        }

        CheckRange("failbackPeriods", o.FailbackPeriods, 0, 10_000);
        CheckRange("apiRequestsPerMinute", o.ApiRequestsPerMinute, 0, 1_000_000);
        if (o.ApiListenAddress.Length > 0 && !IPAddress.TryParse(o.ApiListenAddress, out _))
        {
            Fail("apiListenAddress", o.ApiListenAddress, "an IPv4 or IPv6 address such as 127.0.0.1, or empty for listenAddress");
        }

        if ((o.ApiCertificateFile.Length > 0) != (o.ApiKeyFile.Length > 0))
        {
            Fail(o.ApiCertificateFile.Length > 0 ? "apiKeyFile" : "apiCertificateFile", "", "apiCertificateFile and apiKeyFile together (PEM), or neither");
        }

        if (o.ApiCertificateFile.Length == 0 && IPAddress.TryParse(o.ApiAddress, out var api) && !IPAddress.IsLoopback(api))
        {
            Fail(o.ApiListenAddress.Length > 0 ? "apiListenAddress" : "listenAddress", o.ApiAddress,
                "a loopback address for plain HTTP (tokens must not cross a network in clear); set apiCertificateFile and apiKeyFile for HTTPS there, or apiListenAddress: 127.0.0.1 to keep the API local while the link listens on listenAddress");
        }
        CheckRange("clusterHistory", o.ClusterHistory, 1, 1_000_000);
        ValidateClusters(o);
        if (o.Gateway.Validate() is { } gatewayError)
        {
            throw new ConfigurationException(gatewayError);
        }

        if (string.IsNullOrWhiteSpace(o.DataDirectory))
        {
            Fail("dataDirectory", o.DataDirectory, "a directory path");
        }

        if (State.StateStores.Parse(o.Store) is null)
        {
            Fail("store", o.Store, State.StateStores.Accepted);
        }

        CheckRange("leaderLeaseMs", o.LeaderLeaseMs, 600, 600_000);
        CheckUrl("advertisedLinkUrl", o.AdvertisedLinkUrl);
        CheckUrl("advertisedApiUrl", o.AdvertisedApiUrl);

        if (string.Equals(o.Store, State.StateStores.Postgres, StringComparison.OrdinalIgnoreCase) && string.IsNullOrWhiteSpace(o.PostgresConnectionStringFile))
        {
            Fail("postgresConnectionStringFile", o.PostgresConnectionStringFile, "the path of a file holding the PostgreSQL connection string when store is postgres");
        }

        if (!Enum.TryParse<LogEventLevel>(o.LogLevel, ignoreCase: true, out _))
        {
            Fail("logLevel", o.LogLevel, "one of Verbose, Debug, Information, Warning, Error, Fatal");
        }
    }

    private static void ValidateClusters(AggregatorOptions o)
    {
        foreach (var (name, cluster) in o.Clusters)
        {
            var key = $"clusters:{name}";
            if (!Names.IsName(name))
            {
                Fail("clusters", name, "cluster names of 1-63 characters of a-z 0-9 -, not starting with -");
            }

            Throw(ClusterDefaults.CheckWeight($"{key}:weight", cluster.Weight)
                ?? ClusterDefaults.CheckPriority($"{key}:priority", cluster.Priority)
                ?? ClusterDefaults.CheckMinSurvivors($"{key}:minSurvivors", cluster.MinSurvivors)
                ?? ClusterDefaults.CheckRatio($"{key}:minimumSurvivalRatio", cluster.MinimumSurvivalRatio));
            if (ClusterDefaults.ParseRole(cluster.Role) is null)
            {
                Fail($"{key}:role", cluster.Role, ClusterDefaults.RolesAccepted);
            }

            if (!Names.IsName(cluster.Group))
            {
                Fail($"{key}:group", cluster.Group, "a group name of 1-63 characters of a-z 0-9 -, not starting with -");
            }
        }

        foreach (var (name, group) in o.ClusterGroups)
        {
            if (!Names.IsName(name))
            {
                Fail("clusterGroups", name, "group names of 1-63 characters of a-z 0-9 -, not starting with -");
            }

            if (ClusterDefaults.ParseMode(group.Mode) is null)
            {
                Fail($"clusterGroups:{name}:mode", group.Mode, ClusterDefaults.ModesAccepted);
            }
        }

        static void Throw(string? error)
        {
            if (error is not null)
            {
                throw new ConfigurationException(error);
            }
        }
    }

    private static void CheckUrl(string key, string value)
    {
        if (value.Length > 0 && !(Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.AbsolutePath == "/" && uri.Query.Length == 0))
        {
            Fail(key, value, "an http:// or https:// URL with a host and port and no path, such as https://agg-1.example:7401, or empty to derive it");
        }
    }

    private static void CheckRange(string key, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            Fail(key, value.ToString(CultureInfo.InvariantCulture), $"a whole number from {min} to {max}");
        }
    }

    private static void Fail(string key, string? value, string accepted)
        => throw new ConfigurationException($"{key} = '{value}': expected {accepted}");
}
