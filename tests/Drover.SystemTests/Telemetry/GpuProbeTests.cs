using System.Globalization;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Drover.SystemTests.Scaling;
using Xunit.Abstractions;

namespace Drover.SystemTests.Telemetry;

/// <summary>
/// Issue 20 end to end: a function defined with <c>gpuProbe: true</c> runs the sample CUDA workload (100 launches a
/// second of 50 ms kernels on the stand-in libcuda) under the probe the agent preloads; its GPU at
/// <c>/v1/nodes/{id}/gpus</c> shows <c>commandQueueSource: measured</c> with the in-flight count the rate and duration
/// predict (5), and the autoscaler's record of a later placement names that measured value.
/// </summary>
public sealed class GpuProbeTests(ITestOutputHelper output) : AutoscaleTestBase(output)
{
    private const double Rate = 100;
    private const double KernelSeconds = 0.05;

    /// <summary>rate × duration: 5 kernels in flight, by Little's law.</summary>
    private const double Predicted = Rate * KernelSeconds;

    /// <summary>
    /// The stated tolerance: the median of five samples within 50% below and 60% above the prediction. Above is wider:
    /// a loaded machine wakes the stand-in's kernel threads late, which holds more in flight, never less.
    /// </summary>
    private const double Below = 0.5;
    private const double Above = 1.6;

    [Fact]
    public async Task GpuProbe_WorkloadUnderTheProbe_QueueMeasuredAsRateTimesDuration_AndNamedInTheScalingRecord()
    {
        for (var i = 1; i <= 2; i++)
        {
            Fleet.StartAgent($"a{i}", serverNumber: i, port: Drover.Testing.Ports.Free(), gpus: new GpuScenario(1).Set("gpu.0.util_gpu", 10 * i),
                extraArgs: ["--shimListenAddress", "127.0.0.1", "--gpuProbeLibraryPath", Repository.CudaProbe]);
        }

        await Fleet.WaitForAliveCountAsync(2, Timeout);
        await PutAsync("/v1/functions/probed", new
        {
            runtime = new
            {
                type = "process",
                command = Repository.CudaWorkload,
                args = new[]
                {
                    "--lib", Repository.FakeCuda, "--forever", "--rate", Rate.ToString(CultureInfo.InvariantCulture),
                    "--kernel-us", ((int)(KernelSeconds * 1_000_000)).ToString(CultureInfo.InvariantCulture), "--streams", "16", "--serve",
                },
            },
            gpuProbe = true,
            minInstances = 1,
            maxInstances = 1,
            commitIntervalSeconds = 0,
        });
        await WaitForReadyAsync("/v1/functions/probed", 1);
        var instance = (await GetAsync("/v1/functions/probed")).GetProperty("instances").EnumerateArray().Single();
        var node = instance.GetProperty("nodeId").GetString()!;
        var gpu = instance.GetProperty("gpuUuid").GetString()!;
        var other = Fleet.NodeIdOf("a1") == node ? Fleet.NodeIdOf("a2") : Fleet.NodeIdOf("a1");

        await Fleet.WaitUntilAsync(
            async () => Source(await GpuAsync(node, gpu)) == "measured",
            Timeout,
            "the probed instance's GPU shows a measured command queue",
            async () => (await GpuAsync(node, gpu)).ToString());

        // Five samples (the agent samples every second), their median against the prediction.
        var lengths = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var sample = await GpuAsync(node, gpu);
            Assert.Equal("measured", Source(sample));
            Assert.True(sample.GetProperty("commandQueueAgeMs").GetInt64() < 5_000, $"a fresh measurement: {sample}");
            lengths.Add(sample.GetProperty("commandQueueLength").GetDouble());
            await Task.Delay(1_000);
        }

        lengths.Sort();
        var median = lengths[2];
        Output.WriteLine($"measured in flight {string.Join(", ", lengths)}; predicted {Predicted}");
        Assert.InRange(median, Predicted * Below, Predicted * Above);
        Assert.NotEqual("measured", Source((await Fleet.GpusAsync(other)).Single())); // nothing probed runs there

        // A placement after the measurement: its scaling record names each candidate's queue with its source.
        await PutAsync(Path, new
        {
            runtime = new { type = "process", command = Repository.Counter },
            minInstances = 2,
            maxInstances = 2,
            commitIntervalSeconds = 0,
        });
        JsonElement? scale = null;
        await Fleet.WaitUntilAsync(
            async () => (scale = (await DecisionsAsync()).EnumerateArray().FirstOrDefault(d => d.GetProperty("kind").GetString() == "scale")) is { ValueKind: JsonValueKind.Object },
            Timeout,
            "counter's scaling decision is recorded",
            async () => (await DecisionsAsync()).ToString());

        var candidates = scale!.Value.GetProperty("inputs").GetProperty("candidates").EnumerateArray().ToArray();
        var probed = candidates.Single(c => c.GetProperty("gpuUuid").GetString() == gpu);
        Assert.Equal("measured", probed.GetProperty("commandQueueSource").GetString());
        Assert.InRange(probed.GetProperty("commandQueueLength").GetDouble(), Predicted * Below, Predicted * Above);
        Assert.Contains($"GPU '{gpu}' (command queue ", scale.Value.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Contains(" measured, utilization", scale.Value.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    private static string? Source(JsonElement gpu) => gpu.GetProperty("commandQueueSource").GetString();

    private async Task<JsonElement> GpuAsync(string node, string uuid)
        => (await Fleet.GpusAsync(node)).Single(g => g.GetProperty("uuid").GetString() == uuid);
}
