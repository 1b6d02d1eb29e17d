using System.Net.Http.Json;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Drover.SystemTests.Shims;
using Xunit.Abstractions;

namespace Drover.SystemTests.Metrics;

/// <summary>
/// Issue 19's metrics against a real Prometheus (Debian's package, which make test installs): it scrapes the real
/// aggregator's <c>/metrics</c> with a read token and a real agent's on its port with the agent's scrape token, and its
/// HTTP API answers queries for the fleet's series (Drover's and dcgm-exporter's names alike) and the agent's own.
/// </summary>
public sealed class PrometheusScrapeTests(ITestOutputHelper output) : ShimTestBase(output)
{
    [Fact]
    public async Task Prometheus_ScrapesTheAggregatorAndAnAgent_SeriesQueryable()
    {
        var directory = Directory.CreateTempSubdirectory("drover-prometheus-").FullName;
        var agentToken = Path.Combine(directory, "agent-scrape.token");
        await File.WriteAllTextAsync(agentToken, "scrape-secret\n");
        await StartAgentsAsync(1, "--metricsTokenFile", agentToken);
        var agentPort = Ports.Values.Single();
        await PutAsync("/v1/functions/counter", Counter());
        await WaitForReadyAsync("/v1/functions/counter", 1);
        using (var invoked = await Client.PostAsync($"http://127.0.0.1:{agentPort}/v1/invoke/counter", null))
        {
            Assert.True(invoked.IsSuccessStatusCode, $"invoke: {(int)invoked.StatusCode}");
        }

        var prometheus = FindPrometheus();
        var port = Drover.Testing.Ports.Free();
        await File.WriteAllTextAsync(Path.Combine(directory, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: drover-aggregator
                authorization:
                  credentials: {Fleet.ReadToken}
                static_configs:
                  - targets: ['127.0.0.1:{Fleet.HttpPort}']
              - job_name: drover-agent
                authorization:
                  credentials_file: {agentToken}
                static_configs:
                  - targets: ['127.0.0.1:{agentPort}']
            """);
        var process = ChildProcess.Start(
            prometheus,
            [
                $"--config.file={Path.Combine(directory, "prometheus.yml")}",
                $"--storage.tsdb.path={Path.Combine(directory, "data")}",
                $"--web.listen-address=127.0.0.1:{port}",
            ],
            Path.Combine(directory, "prometheus.log"));
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
            async Task<JsonElement[]> QueryAsync(string query)
            {
                try
                {
                    var answer = await client.GetFromJsonAsync<JsonElement>($"/api/v1/query?query={Uri.EscapeDataString(query)}");
                    return [.. answer.GetProperty("data").GetProperty("result").EnumerateArray()];
                }
                catch (HttpRequestException)
                {
                    return []; // not listening yet
                }
            }

            static double Value(JsonElement series) => double.Parse(series.GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture);

            await Fleet.WaitUntilAsync(
                async () => (await QueryAsync("up{job=\"drover-aggregator\"}")) is [var up] && Value(up) == 1,
                Timeout,
                "Prometheus scrapes the aggregator (up == 1)",
                async () => string.Join("\n", (await QueryAsync("up")).Select(s => s.ToString())) + "\n" + process.Output);
            await Fleet.WaitUntilAsync(
                async () => (await QueryAsync("drover_nodes{survival=\"alive\"}")) is [var alive] && Value(alive) == 1,
                Timeout,
                "drover_nodes{survival=\"alive\"} is 1");

            var nodeId = Fleet.NodeIdOf("a1");
            var utilization = Assert.Single(await QueryAsync("DCGM_FI_DEV_GPU_UTIL"));
            var labels = utilization.GetProperty("metric");
            Assert.Equal("0", labels.GetProperty("gpu").GetString());
            Assert.StartsWith("GPU-", labels.GetProperty("UUID").GetString(), StringComparison.Ordinal);
            Assert.Equal("nvidia0", labels.GetProperty("device").GetString());
            Assert.Equal(10, Value(utilization)); // the stand-in scenario's util_gpu of GPU 0
            var memory = Assert.Single(await QueryAsync($"drover_gpu_memory_total_bytes{{node=\"{nodeId}\"}}"));
            Assert.Equal(80.0 * (1L << 30), Value(memory));
            Assert.Single(await QueryAsync("drover_clusters{health=\"healthy\"} == 1"));
            Assert.NotEmpty(await QueryAsync("drover_agent_messages_total{kind=\"heartbeat\"} > 0"));
            Assert.NotEmpty(await QueryAsync("drover_decision_pass_duration_seconds_count > 0"));

            // The agent's own series, through its scrape token.
            await Fleet.WaitUntilAsync(
                async () => (await QueryAsync("up{job=\"drover-agent\"}")) is [var up] && Value(up) == 1,
                Timeout,
                "Prometheus scrapes the agent (up == 1)",
                async () => string.Join("\n", (await QueryAsync("up")).Select(s => s.ToString())) + "\n" + process.Output);
            Assert.NotEmpty(await QueryAsync("drover_agent_samples_total{job=\"drover-agent\"} > 0"));
            Assert.NotEmpty(await QueryAsync("drover_agent_sample_duration_seconds_total{job=\"drover-agent\"} > 0"));
            Assert.NotEmpty(await QueryAsync("drover_agent_link_connected{job=\"drover-agent\"} == 1"));
            Assert.NotEmpty(await QueryAsync("drover_agent_link_connects_total{job=\"drover-agent\"} >= 1"));
            Assert.NotEmpty(await QueryAsync("drover_agent_instances{job=\"drover-agent\",state=\"running\"} == 1"));
            Assert.NotEmpty(await QueryAsync("drover_agent_instance_restarts_total{job=\"drover-agent\",kind=\"function\",name=\"counter\"} == 0"));
            Assert.NotEmpty(await QueryAsync("drover_shim_requests_total{job=\"drover-agent\",kind=\"function\",name=\"counter\",outcome=\"completed\"} == 1"));
            Assert.NotEmpty(await QueryAsync("drover_shim_queue_length{job=\"drover-agent\",name=\"counter\"} == 0"));
            Assert.NotEmpty(await QueryAsync("dotnet_process_cpu_time_seconds_total{job=\"drover-agent\"}"));
        }
        finally
        {
            await process.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task AgentMetrics_WithATokenFile_RefuseScrapesWithoutIt()
    {
        var directory = Directory.CreateTempSubdirectory("drover-agent-metrics-").FullName;
        try
        {
            var token = Path.Combine(directory, "scrape.token");
            await File.WriteAllTextAsync(token, "right-token");
            await StartAgentsAsync(1, "--metricsTokenFile", token);
            var url = $"http://127.0.0.1:{Ports.Values.Single()}/metrics";

            using (var anonymous = await Client.GetAsync(url))
            {
                Assert.Equal(System.Net.HttpStatusCode.Unauthorized, anonymous.StatusCode);
            }

            foreach (var (presented, expected) in new[] { ("wrong-token", System.Net.HttpStatusCode.Unauthorized), ("right-token", System.Net.HttpStatusCode.OK) })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", presented);
                using var response = await Client.SendAsync(request);
                Assert.Equal(expected, response.StatusCode);
                if (expected == System.Net.HttpStatusCode.OK)
                {
                    var text = await response.Content.ReadAsStringAsync();
                    Assert.Contains("# TYPE drover_agent_samples_total counter", text, StringComparison.Ordinal);
                    Assert.Contains("drover_agent_link_connected", text, StringComparison.Ordinal);
                }
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task AgentMetrics_Disabled_NotServed()
    {
        await StartAgentsAsync(1, "--metricsEnabled", "false");
        using var response = await Client.GetAsync($"http://127.0.0.1:{Ports.Values.Single()}/metrics");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
    }

    /// <summary>Debian's prometheus (make test installs it); its absence fails the test, naming how to install it.</summary>
    private static string FindPrometheus()
        => new[] { "/usr/bin/prometheus", "/usr/local/bin/prometheus" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("prometheus is not installed: make test installs it (apt-get install prometheus); on Debian or Ubuntu run `sudo apt-get install prometheus`.");
}
