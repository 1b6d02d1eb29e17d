using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Drover.SystemTests.Shims;
using Xunit.Abstractions;

namespace Drover.SystemTests.Scaling;

/// <summary>
/// What the autoscaling tests share: agents on stand-in GPUs ranked by utilization, <c>counter</c>
/// defined autoscaled (slo 2, margin 1), its instances and decisions, and slow requests held through
/// the gateway to raise its queue.
/// </summary>
public abstract class AutoscaleTestBase(ITestOutputHelper output) : ShimTestBase(output)
{
    internal const string Path = "/v1/functions/counter";

    private static readonly HttpClient SlowClient = new() { Timeout = TimeSpan.FromSeconds(120) };

    /// <summary>
    /// <paramref name="count"/> agents a1..aN, one GPU each; node i's GPU is busier (utilization) than
    /// node i-1's; <paramref name="longQueue"/> gets a long command queue; <paramref name="gpuState"/>, when
    /// given, is node i's GPU state (the stand-in's <c>gpu.0.state</c>). Returns node id to name.
    /// </summary>
    internal async Task<Dictionary<string, string>> StartFleetAsync(int count = 4, int? longQueue = null, Func<int, string?>? gpuState = null)
    {
        for (var i = 1; i <= count; i++)
        {
            var scenario = new GpuScenario(1).Set("gpu.0.util_gpu", 10 * i);
            if (gpuState?.Invoke(i) is { } state)
            {
                scenario.Set("gpu.0.state", state);
            }

            if (i == longQueue)
            {
                // The agent estimates the command queue as processes × utilization: 40 processes at 100% is 40.
                scenario.Set("gpu.0.util_gpu", 100).Set("gpu.0.processes", string.Join(',', Enumerable.Range(1, 40).Select(p => $"{100_000 + p}:1048576")));
            }

            Fleet.StartAgent($"a{i}", serverNumber: i, port: Drover.Testing.Ports.Free(), gpus: scenario, extraArgs: ["--shimListenAddress", "127.0.0.1"]);
        }

        await Fleet.WaitForAliveCountAsync(count, Timeout);
        var names = Enumerable.Range(1, count).ToDictionary(i => Fleet.NodeIdOf($"a{i}"), i => $"a{i}", StringComparer.Ordinal);

        // Wait for every node's GPU telemetry (the ranking reads it).
        await Fleet.WaitUntilAsync(
            async () => (await Task.WhenAll(names.Keys.Select(Fleet.GpusAsync))).All(g => g.Length == 1),
            Timeout,
            "every node reports its GPU");
        return names;
    }

    /// <summary>
    /// Defines <c>counter</c> autoscaled from <paramref name="min"/> instances up to <paramref name="max"/>, scaling down after
    /// <paramref name="scaleDownWindowSeconds"/>; <paramref name="runtime"/> replaces the counter sample's.
    /// </summary>
    internal async Task DefineAsync(int max, object? runtime = null, int min = 1, int scaleDownWindowSeconds = 10)
        => await PutAsync(Path, new
        {
            runtime = runtime ?? new { type = "process", command = Repository.Counter },
            @public = true, // called through the gateway by SlowClient, without a key
            slo = 2,
            margin = 1,
            minInstances = min,
            maxInstances = max,
            scaleDownWindowSeconds,
            commitIntervalSeconds = 0,
            timeoutMs = 120_000,
        });

    internal async Task<string[]> InstanceNodesAsync()
        => (await GetAsync(Path)).GetProperty("instances").EnumerateArray().Select(i => i.GetProperty("nodeId").GetString()!).ToArray();

    internal Task<JsonElement> DecisionsAsync() => GetAsync($"{Path}/decisions");

    /// <summary>
    /// Eight slow requests through the gateway, held until they answer. They all reach the one node that
    /// served when they were sent and queue there (two at a time, the SLO), hence the long timeouts.
    /// </summary>
    internal Task<HttpResponseMessage[]> HoldLoad(int sleepMs)
        => Task.WhenAll(Enumerable.Range(0, 8).Select(_ => SlowClient.PostAsync($"http://127.0.0.1:{Fleet.HttpPort}/v1/invoke/counter?sleepMs={sleepMs}", null)));
}
