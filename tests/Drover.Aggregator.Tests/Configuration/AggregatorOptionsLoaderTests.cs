using Drover.Aggregator.Configuration;
using Microsoft.Extensions.Configuration;

namespace Drover.Aggregator.Tests.Configuration;

public class AggregatorOptionsLoaderTests
{
    private static AggregatorOptions Load(params (string Key, string Value)[] values)
        => AggregatorOptionsLoader.Load(new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build());

    [Fact]
    public void Load_Nothing_GivesDocumentedDefaults()
    {
        var options = Load();

        Assert.Equal("127.0.0.1", options.ListenAddress);
        Assert.Equal(7400, options.HttpPort);
        Assert.Equal(7401, options.LinkPort);
        Assert.Equal(1000, options.HeartbeatIntervalMs);
        Assert.Equal(3, options.MissedHeartbeats);
        Assert.Equal(1000, options.MonitorPeriodMs);
        Assert.Equal(1000, options.ProbeTimeoutMs);
        Assert.Equal("/var/lib/drover/aggregator", options.DataDirectory);
        Assert.Equal("/var/log/drover/aggregator.log", options.LogFile);
        Assert.Equal(10_000, options.EventHistoryPerChannel);
        Assert.Equal(10_000, options.MaxEventChannels);
        Assert.Equal(256, options.MaxEventSubscribers);
        Assert.Equal(10_000, options.RequestHeadersTimeoutMs);
        Assert.Equal(4, options.UploadsPerNode);
        Assert.Equal(1L << 30, options.UploadBytesPerNode);
        Assert.Equal(3, options.StateVersionsKept);
        Assert.Equal(86_400, options.DeletedStateGraceSeconds);
        Assert.Equal(3600, options.LostNodeRetentionSeconds);
        Assert.Equal(0.5, options.MinimumSurvivalRatio);
        Assert.Equal(3, options.FailbackPeriods);
        Assert.True(options.FailOpen);
        Assert.True(options.GatewayEnabled);
        Assert.Empty(options.Clusters);
        Assert.Empty(options.ClusterGroups);
        Assert.Equal(1000, options.MaxNodesPerCluster);
        Assert.Equal("", options.ApiListenAddress);
        Assert.Equal("127.0.0.1", options.ApiAddress);
        Assert.Equal("", options.ApiCertificateFile);
        Assert.Empty(options.AdvertiseAddressesAllowed);
    }

    [Fact]
    public void Load_LinkOnEveryAddressApiOnLoopback_Accepted()
    {
        var options = Load(("listenAddress", "0.0.0.0"), ("apiListenAddress", "127.0.0.1"));

        Assert.Equal(("0.0.0.0", "127.0.0.1"), (options.ListenAddress, options.ApiAddress));
    }

    [Fact]
    public void Load_Clusters_BindsEverySettingAndDefaultsTheRest()
    {
        var options = Load(("clusters:c1:weight", "300"), ("clusters:c1:role", "standby"), ("clusters:c1:minSurvivors", "2"), ("clusters:c2:priority", "-1"), ("clusterGroups:west:mode", "masters-one-standby"));

        Assert.Equal((300, "standby", 2, "default"), (options.Clusters["c1"].Weight, options.Clusters["c1"].Role, options.Clusters["c1"].MinSurvivors, options.Clusters["c1"].Group));
        Assert.Equal((100, -1, "master", (int?)null), (options.Clusters["c2"].Weight, options.Clusters["c2"].Priority, options.Clusters["c2"].Role, options.Clusters["c2"].MinSurvivors));
        Assert.Equal("masters-one-standby", options.ClusterGroups["west"].Mode);
    }

    [Theory]
    [InlineData("httpPort", "0", "httpPort = '0'")]
    [InlineData("linkPort", "70000", "linkPort = '70000'")]
    [InlineData("linkPort", "7400", "a port different from httpPort")]
    [InlineData("missedHeartbeats", "0", "missedHeartbeats = '0'")]
    [InlineData("heartbeatIntervalMs", "10", "a whole number from 50 to 60000")]
    [InlineData("listenAddress", "localhost:1", "listenAddress = 'localhost:1'")]
    [InlineData("logLevel", "chatty", "one of Verbose")]
    [InlineData("eventHistoryPerChannel", "0", "eventHistoryPerChannel = '0': expected a whole number from 1 to 1000000")]
    [InlineData("maxEventChannels", "1000001", "maxEventChannels = '1000001'")]
    [InlineData("httpPort", "many", "'many' at 'httpPort'")]
    [InlineData("maxEventSubscribers", "0", "maxEventSubscribers = '0': expected a whole number from 1 to 100000")]
    [InlineData("uploadsPerNode", "0", "uploadsPerNode = '0': expected a whole number from 1 to 64")]
    [InlineData("uploadsPerNode", "65", "uploadsPerNode = '65'")]
    [InlineData("uploadBytesPerNode", "1048576", "uploadBytesPerNode = '1048576': expected a whole number from 268435456 to")]
    [InlineData("stateVersionsKept", "0", "stateVersionsKept = '0': expected a whole number from 1 to 1000")]
    [InlineData("deletedStateGraceSeconds", "599", "deletedStateGraceSeconds = '599': expected a whole number from 600 to 31536000")]
    [InlineData("lostNodeRetentionSeconds", "59", "lostNodeRetentionSeconds = '59': expected a whole number from 60 to 31536000")]
    [InlineData("probeTimeoutMs", "9", "probeTimeoutMs = '9': expected a whole number from 10 to 60000")]
    [InlineData("probeTimeoutMs", "60001", "probeTimeoutMs = '60001': expected a whole number from 10 to 60000")]
    [InlineData("metricsSeriesLimit", "99", "metricsSeriesLimit = '99': expected a whole number from 100 to 1000000")]
    [InlineData("linkSendTimeoutMs", "99", "linkSendTimeoutMs = '99': expected a whole number from 100 to 300000")]
    [InlineData("linkKeepAlivePingDelayMs", "999", "linkKeepAlivePingDelayMs = '999': expected a whole number from 1000 to 3600000")]
    [InlineData("linkKeepAlivePingTimeoutMs", "3600001", "linkKeepAlivePingTimeoutMs = '3600001'")]
    [InlineData("httpMaxConnections", "0", "httpMaxConnections = '0': expected a whole number from 1 to 1000000")]
    [InlineData("requestHeadersTimeoutMs", "999", "requestHeadersTimeoutMs = '999': expected a whole number from 1000 to 300000")]
    [InlineData("requestHeadersTimeoutMs", "300001", "requestHeadersTimeoutMs = '300001'")]
    [InlineData("linkMaxConnections", "-5", "linkMaxConnections = '-5'")]
    [InlineData("listenAddress", "0.0.0.0", "listenAddress = '0.0.0.0': expected a loopback address for plain HTTP")]
    [InlineData("apiListenAddress", "10.0.0.5", "apiListenAddress = '10.0.0.5': expected a loopback address for plain HTTP")]
    [InlineData("apiListenAddress", "api.local", "apiListenAddress = 'api.local': expected an IPv4 or IPv6 address")]
    [InlineData("apiCertificateFile", "/etc/drover/api.crt", "apiKeyFile = '': expected apiCertificateFile and apiKeyFile together")]
    [InlineData("minimumSurvivalRatio", "0", "minimumSurvivalRatio = '0': expected a number above 0 and at most 1")]
    [InlineData("minimumSurvivalRatio", "1.5", "minimumSurvivalRatio = '1.5'")]
    [InlineData("failbackPeriods", "-1", "failbackPeriods = '-1'")]
    [InlineData("maxNodesPerCluster", "0", "maxNodesPerCluster = '0': expected a whole number from 1 to 100000")]
    [InlineData("advertiseAddressesAllowed:0", "10.0.0.0/33", "advertiseAddressesAllowed: '10.0.0.0/33' is neither a CIDR network")]
    [InlineData("advertiseAddressesAllowed:0", "http://x", "advertiseAddressesAllowed: 'http://x'")]
    [InlineData("clusters:c1:weight", "1001", "clusters:c1:weight = '1001': expected a whole number from 0 to 1000")]
    [InlineData("clusters:c1:priority", "5000", "clusters:c1:priority = '5000'")]
    [InlineData("clusters:c1:role", "boss", "clusters:c1:role = 'boss': expected master or standby")]
    [InlineData("clusters:c1:minSurvivors", "0", "clusters:c1:minSurvivors = '0'")]
    [InlineData("clusters:c1:minimumSurvivalRatio", "0", "clusters:c1:minimumSurvivalRatio = '0'")]
    [InlineData("clusters:c1:group", "No Group", "clusters:c1:group = 'No Group'")]
    [InlineData("clusters:Big:weight", "1", "clusters = 'Big'")]
    [InlineData("clusterGroups:default:mode", "round-robin", "clusterGroups:default:mode = 'round-robin': expected all-masters, masters-standbys or masters-one-standby")]
    public void Load_BadValue_NamesKeyValueAndAccepted(string key, string value, string expected)
    {
        var ex = Assert.Throws<ConfigurationException>(() => Load((key, value)));

        Assert.Contains(expected, ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void BuildConfiguration_MissingNamedFile_IsAConfigurationError()
    {
        var ex = Assert.Throws<ConfigurationException>(() => AggregatorOptionsLoader.BuildConfiguration(["--config", "/nonexistent/aggregator.json"]));

        Assert.Contains("config = '/nonexistent/aggregator.json'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BuildConfiguration_MalformedFile_NamesTheFile()
    {
        var file = Path.Combine(Path.GetTempPath(), $"drover-aggregator-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, "{ httpPort: ");
        try
        {
            var ex = Assert.Throws<ConfigurationException>(() => AggregatorOptionsLoader.BuildConfiguration(["--config", file]));

            Assert.StartsWith($"config = '{file}'", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
