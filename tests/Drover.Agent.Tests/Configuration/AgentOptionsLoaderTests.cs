using Drover.Agent.Instances;
using Drover.Agent.Configuration;
using Microsoft.Extensions.Configuration;

namespace Drover.Agent.Tests.Configuration;

public class AgentOptionsLoaderTests
{
    /// <summary>Loads <paramref name="values"/>; with a plain-text link (insecure: true) unless they configure the link.</summary>
    internal static AgentOptions Load(params (string Key, string Value)[] values)
        => LoadExactly(values.Any(v => v.Key is "insecure" or "linkCertificateFile") ? values : [("insecure", "true"), .. values]);

    private static AgentOptions LoadExactly(params (string Key, string Value)[] values)
        => AgentOptionsLoader.Load(new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build());

    [Fact]
    public void Load_NoLinkCertificates_ConfigurationErrorNamingTheKeyAndInsecure()
    {
        var ex = Assert.Throws<ConfigurationException>(() => LoadExactly(("serverNumber", "4")));

        Assert.StartsWith("linkCertificateFile = '': expected a PEM file: the link is mutual TLS", ex.Message, StringComparison.Ordinal);
        Assert.Contains("insecure: true", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_LinkCertificates_DefaultAggregatorIsHttpsAndHttpIsRefused()
    {
        (string, string)[] tls = [("serverNumber", "4"), ("linkCertificateFile", "/c.crt"), ("linkKeyFile", "/c.key"), ("linkCaFile", "/ca.crt")];

        var options = LoadExactly(tls);
        var ex = Assert.Throws<ConfigurationException>(() => LoadExactly([.. tls, ("aggregators:0", "http://127.0.0.1:7401")]));

        Assert.False(options.Insecure);
        Assert.Equal(["https://127.0.0.1:7401"], options.Aggregators);
        Assert.Contains("aggregators:0 = 'http://127.0.0.1:7401': expected an absolute https:// address", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_OnlyServerNumber_GivesDocumentedDefaults()
    {
        var options = Load(("serverNumber", "4"));

        Assert.Equal(4, options.ServerNumber);
        Assert.Equal(7411, options.Port);
        Assert.Equal("127.0.0.1", options.ShimListenAddress);
        Assert.Equal("default", options.Cluster);
        Assert.Equal(["http://127.0.0.1:7401"], options.Aggregators);
        Assert.Equal("/var/lib/drover/agent", options.StateDirectory);
        Assert.Equal("/var/log/drover/agent.log", options.LogFile);
        Assert.Equal(1000, options.HeartbeatIntervalMs);
        Assert.Equal(100, options.Weight);
        Assert.Equal(0, options.Priority);
        Assert.Equal("/usr/lib/drover/libdrover-cuda-probe.so", options.GpuProbeLibraryPath);
        Assert.Equal("/run/drover/gpu-probe", options.GpuProbeRoot);
        Assert.Equal(3000, options.GpuProbeStalenessMs);
    }

    [Theory]
    [InlineData("0", "-1000")]
    [InlineData("1000", "1000")]
    public void Load_WeightAndPriorityAtTheirBounds_AreAccepted(string weight, string priority)
    {
        var options = Load(("serverNumber", "4"), ("weight", weight), ("priority", priority));

        Assert.Equal(int.Parse(weight, System.Globalization.CultureInfo.InvariantCulture), options.Weight);
        Assert.Equal(int.Parse(priority, System.Globalization.CultureInfo.InvariantCulture), options.Priority);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::")]
    [InlineData("::1")]
    [InlineData("10.1.2.3")]
    public void Load_ShimListenAddress_IpAddressAccepted(string address)
        => Assert.Equal(address, Load(("serverNumber", "1"), ("shimListenAddress", address)).ShimListenAddress);

    [Fact]
    public void Load_ListAndLabels_AreBound()
    {
        var options = Load(("serverNumber", "1"), ("aggregators:0", "http://a:7401"), ("aggregators:1", "http://b:7401"), ("labels:zone", "eu-1"));

        Assert.Equal(["http://a:7401", "http://b:7401"], options.Aggregators);
        Assert.Equal("eu-1", options.Labels["zone"]);
    }

    [Fact]
    public void Load_Runtimes_AreBoundAndEmptyByDefault()
    {
        Assert.Empty(Load(("serverNumber", "1")).Runtimes);

        // As root every entry must name a user (the next test); as another user it may not name another.
        var user = LibC.IsRoot ? "nobody" : "";
        var options = Load(("serverNumber", "1"), ("runtimes:0:path", "/opt/fn/"), ("runtimes:0:env:0", "LD_LIBRARY_PATH"), ("runtimes:0:user", user), ("runtimes:1:path", "/usr/bin/python3"), ("runtimes:1:user", user));

        Assert.Equal(["/opt/fn/", "/usr/bin/python3"], options.Runtimes.Select(r => r.Path));
        Assert.Equal(["LD_LIBRARY_PATH"], options.Runtimes[0].Env);
        Assert.Equal(user, options.Runtimes[1].User);
    }

    /// <summary>An agent running as root never runs an instance as root: an entry without a user stops the start.</summary>
    [Fact]
    [Trait("Category", "Attacks")]
    public void Load_AsRoot_EntryWithoutUser_RefusedNamingTheKey()
    {
        if (!LibC.IsRoot)
        {
            // As another user an instance runs as that user, never root: nothing to refuse.
            Assert.Equal("", Load(("serverNumber", "1"), ("runtimes:0:path", "/opt/fn")).Runtimes[0].User);
            return;
        }

        var ex = Assert.Throws<ConfigurationException>(() => Load(("serverNumber", "1"), ("runtimes:0:path", "/opt/fn"), ("runtimes:1:path", "/bin/sh"), ("runtimes:0:user", "nobody")));

        Assert.Contains("runtimes:1:user = '': expected an unprivileged user for its instances", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingServerNumber_SaysItHasNoDefault()
    {
        var ex = Assert.Throws<ConfigurationException>(() => Load());

        Assert.Equal("serverNumber = '': expected a whole number from 1 to 65535, unique in the cluster (it has no default)", ex.Message);
    }

    [Theory]
    [InlineData("serverNumber", "0", "serverNumber = ''")]
    [InlineData("serverNumber", "65536", "serverNumber = '65536'")]
    [InlineData("serverNumber", "one", "'one' at 'serverNumber'")]
    [InlineData("port", "0", "port = '0': expected a whole number from 1 to 65535")]
    [InlineData("shimListenAddress", "localhost", "shimListenAddress = 'localhost': expected an IP address")]
    [InlineData("shimListenAddress", "1", "shimListenAddress = '1'")]
    [InlineData("shimListenAddress", "300.1.1.1", "shimListenAddress = '300.1.1.1'")]
    [InlineData("cluster", "Prod_East", "cluster = 'Prod_East'")]
    [InlineData("aggregators:0", "127.0.0.1:7401", "aggregators:0 = '127.0.0.1:7401'")]
    [InlineData("aggregators:0", "ftp://x:1", "http://")]
    [InlineData("labels:bad key", "v", "labels:bad key")]
    [InlineData("logLevel", "loud", "logLevel = 'loud'")]
    [InlineData("heartbeatIntervalMs", "5", "heartbeatIntervalMs = '5'")]
    [InlineData("reconnectMaxBackoffMs", "50", "reconnectMaxBackoffMs = '50': expected a whole number from 200")]
    [InlineData("weight", "1001", "weight = '1001': expected a whole number from 0 to 1000")]
    [InlineData("weight", "-1", "weight = '-1': expected a whole number from 0 to 1000")]
    [InlineData("priority", "1001", "priority = '1001': expected a whole number from -1000 to 1000")]
    [InlineData("priority", "-1001", "priority = '-1001': expected a whole number from -1000 to 1000")]
    [InlineData("maxStateBytes", "268435457", "maxStateBytes = '268435457': expected a whole number of bytes from 1048576 to 268435456")]
    [InlineData("maxStateBytes", "1000", "maxStateBytes = '1000'")]
    [InlineData("outputLogMaxBytes", "100", "outputLogMaxBytes = '100': expected a whole number of bytes from 65536")]
    [InlineData("instanceStopGraceMs", "-1", "instanceStopGraceMs = '-1': expected a whole number from 0 to 600000")]
    [InlineData("gpuProbeLibraryPath", "lib/libdrover-cuda-probe.so", "gpuProbeLibraryPath = 'lib/libdrover-cuda-probe.so': expected an absolute path")]
    [InlineData("gpuProbeLibraryPath", "/opt/a b/probe.so", "gpuProbeLibraryPath = '/opt/a b/probe.so': expected an absolute path to libdrover-cuda-probe.so without spaces or colons")]
    [InlineData("gpuProbeLibraryPath", "/a.so:/b.so", "gpuProbeLibraryPath = '/a.so:/b.so'")]
    [InlineData("gpuProbeDirectory", "run/probe", "gpuProbeDirectory = 'run/probe': expected an absolute path")]
    [InlineData("gpuProbeStalenessMs", "100", "gpuProbeStalenessMs = '100': expected a whole number from 200 to 600000")]
    [InlineData("runtimes:0:path", "opt/fn", "runtimes:0:path = 'opt/fn': expected an absolute path")]
    [InlineData("runtimes:0:path", "/opt/fn/../../bin", "runtimes:0:path = '/opt/fn/../../bin': expected an absolute path of at most 4096 characters without . or .. segments")]
    [InlineData("runtimes:0:path", "/opt/./fn", "runtimes:0:path = '/opt/./fn'")]
    [InlineData("runtimes:0:path", "", "runtimes:0:path = ''")]
    [InlineData("runtimes:0:user", "Bad User", "runtimes:0:user = 'Bad User': expected a user name")]
    [InlineData("runtimes:0:user", "no-such-user-drover", "runtimes:0:user = 'no-such-user-drover': expected an existing user")]
    [InlineData("runtimes:0:user", "root", "runtimes:0:user = 'root': expected an unprivileged user")]
    [InlineData("runtimes:0:env:0", "LD-PRELOAD", "runtimes:0:env:0 = 'LD-PRELOAD'")]
    public void Load_BadValue_NamesKeyValueAndAccepted(string key, string value, string expected)
    {
        var values = key == "serverNumber" ? new[] { (key, value) } : new[] { ("serverNumber", "1"), (key, value) };
        if (key.StartsWith("runtimes:0:", StringComparison.Ordinal) && key != "runtimes:0:path")
        {
            values = [.. values, ("runtimes:0:path", "/opt/fn")];
        }

        if (key.StartsWith("runtimes:0:env", StringComparison.Ordinal) && LibC.IsRoot)
        {
            values = [.. values, ("runtimes:0:user", "nobody")]; // as root an entry without one is refused first
        }

        var ex = Assert.Throws<ConfigurationException>(() => Load(values));

        Assert.Contains(expected, ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void BuildConfiguration_CommandLineOverridesFile()
    {
        var file = Path.Combine(Path.GetTempPath(), $"drover-agent-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """{ "serverNumber": 3, "cluster": "from-file", "port": 7500, "insecure": true }""");
        try
        {
            var options = AgentOptionsLoader.Load(AgentOptionsLoader.BuildConfiguration(["--config", file, "--port", "7600"]));

            Assert.Equal(3, options.ServerNumber);
            Assert.Equal("from-file", options.Cluster);
            Assert.Equal(7600, options.Port);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void BuildConfiguration_MalformedFile_NamesTheFile()
    {
        var file = Path.Combine(Path.GetTempPath(), $"drover-agent-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, "{ serverNumber: ");
        try
        {
            var ex = Assert.Throws<ConfigurationException>(() => AgentOptionsLoader.BuildConfiguration(["--config", file]));

            Assert.StartsWith($"config = '{file}'", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
