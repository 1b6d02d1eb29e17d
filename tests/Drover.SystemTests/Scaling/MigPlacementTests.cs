using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Scaling;

/// <summary>
/// Issue 15's MIG criterion end to end: an agent on a stand-in GPU with MIG on reports its MIG instances as GPUs of
/// their own under it; a function asking for a MIG profile is placed on the instance of that profile with room (never
/// on the MIG-enabled GPU itself, nor on a whole GPU), runs with that instance's UUID as its CUDA device, and the
/// work it reports counts against that instance alone.
/// </summary>
public sealed class MigPlacementTests(ITestOutputHelper output) : AutoscaleTestBase(output)
{
    [Fact]
    public async Task Autoscale_MigProfile_PlacedOnTheInstanceWithRoom_AndItsWorkCountsAgainstThatInstance()
    {
        // a1: GPU 0 with MIG on, two 1g.10gb instances (the first nearly full) and a 3g.40gb; GPU 1 whole and idle.
        var tight = $"MIG-{Guid.NewGuid()}";
        var roomy = $"MIG-{Guid.NewGuid()}";
        var large = $"MIG-{Guid.NewGuid()}";
        var scenario = new GpuScenario(2).Set("gpu.0.mig", 1).Set("gpu.0.mig.count", 3).Set("gpu.1.util_gpu", 0);
        foreach (var (slot, uuid, profile, total, used) in new[] { (0, tight, "1g.10gb", 10L << 30, 9L << 30), (1, roomy, "1g.10gb", 10L << 30, 1L << 30), (2, large, "3g.40gb", 40L << 30, 0L) })
        {
            scenario.Set($"gpu.0.mig.{slot}.uuid", uuid).Set($"gpu.0.mig.{slot}.profile", profile)
                .Set($"gpu.0.mig.{slot}.memory_total", total).Set($"gpu.0.mig.{slot}.memory_used", used);
        }

        Fleet.StartAgent("a1", serverNumber: 1, port: Drover.Testing.Ports.Free(), gpus: scenario, extraArgs: ["--shimListenAddress", "127.0.0.1"]);
        await Fleet.WaitForAliveCountAsync(1, Timeout);
        var node = Fleet.NodeIdOf("a1");
        await Fleet.WaitUntilAsync(async () => (await Fleet.GpusAsync(node)).Length == 5, Timeout, "a1 reports its 2 GPUs and 3 MIG instances",
            async () => string.Join('\n', await Fleet.GpusAsync(node)));

        var gpus = (await Fleet.GpusAsync(node)).ToDictionary(g => g.GetProperty("uuid").GetString()!, StringComparer.Ordinal);
        Assert.True(gpus[scenario.Uuid(0)].GetProperty("migEnabled").GetBoolean());
        Assert.Equal(JsonValueKind.Null, gpus[scenario.Uuid(1)].GetProperty("mig").ValueKind);
        foreach (var (uuid, profile) in new[] { (tight, "1g.10gb"), (roomy, "1g.10gb"), (large, "3g.40gb") })
        {
            var mig = gpus[uuid].GetProperty("mig");
            Assert.Equal(scenario.Uuid(0), mig.GetProperty("parentUuid").GetString());
            Assert.Equal(profile, mig.GetProperty("profile").GetString());
            Assert.Equal("unknown", gpus[uuid].GetProperty("commandQueueSource").GetString()); // no utilization under MIG
        }

        await PutAsync(Path, new
        {
            runtime = new { type = "process", command = Repository.Counter },
            @public = true,
            slo = 2,
            minInstances = 1,
            maxInstances = 1,
            gpu = "mig:1g.10gb",
            gpuMemoryBytes = 2L << 30,
            commitIntervalSeconds = 0,
            timeoutMs = 120_000,
        });
        await WaitForReadyAsync(Path, 1);
        var instance = (await GetAsync(Path)).GetProperty("instances").EnumerateArray().Single();
        Assert.Equal(roomy, instance.GetProperty("gpuUuid").GetString());

        // A slow request held on the instance: the counter reports it submitted for its CUDA device, the MIG instance.
        using var slow = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var request = slow.PostAsync($"http://127.0.0.1:{Fleet.HttpPort}/v1/invoke/counter?sleepMs=8000", null);
        await Fleet.WaitUntilAsync(
            async () => (await Fleet.GpusAsync(node)).Any(g => g.GetProperty("uuid").GetString() == roomy
                && g.GetProperty("commandQueueSource").GetString() == "reported" && g.GetProperty("commandQueueLength").GetDouble() >= 1),
            Timeout,
            "the roomy MIG instance's queue is reported by its instance",
            async () => string.Join('\n', await Fleet.GpusAsync(node)));

        var after = (await Fleet.GpusAsync(node)).ToDictionary(g => g.GetProperty("uuid").GetString()!, StringComparer.Ordinal);
        Assert.Equal("unknown", after[tight].GetProperty("commandQueueSource").GetString());
        Assert.Equal("estimated", after[scenario.Uuid(1)].GetProperty("commandQueueSource").GetString());
        (await request).Dispose();
    }
}
