using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Scaling;

/// <summary>
/// Issue 7, a start that fails: three agents on stand-in GPUs, a1's the least busy, and <c>counter</c>
/// autoscaled with a runtime that exits at once on a1 only. a1's agent fails the crash-looping instance;
/// the aggregator stops it, penalises a1 and starts the instance on the next best node; while a1 is
/// penalised, a scale-up passes it over although its GPU ranks first.
/// </summary>
public sealed class FailedStartTests(ITestOutputHelper output) : AutoscaleTestBase(output)
{
    [Fact]
    public async Task Autoscale_StartCrashLoopsOnBestNode_PlacedOnNextNode_BestNodeSkippedWhilePenalised()
    {
        var names = await StartFleetAsync(count: 3);
        var a1 = Fleet.NodeIdOf("a1");

        // Every instance gets DROVER_NODE_ID from its agent: on a1 the process exits 1 at once, every time
        // (a crash loop, which the agent fails after its limit); elsewhere it is the counter ($0).
        await DefineAsync(max: 2, runtime: new
        {
            type = "process",
            command = "/bin/sh",
            args = new[] { "-c", $"if [ \"$DROVER_NODE_ID\" = '{a1}' ]; then exit 1; fi; exec \"$0\"", Repository.Counter },
        });

        await WaitForReadyAsync(Path, 1);
        var instance = Assert.Single((await GetAsync(Path)).GetProperty("instances").EnumerateArray());
        Assert.Equal("a2", names[instance.GetProperty("nodeId").GetString()!]);

        // The decisions: a start on a1 (the best GPU), its stop naming the failure, then a start on a2.
        var decisions = await PlacementDecisionsAsync();
        var first = decisions.First(d => d.Kind == "start");
        Assert.Equal("a1", names[first.ToNodeId!]);
        var stop = decisions.Single(d => d.Kind == "stop");
        Assert.Equal(first.InstanceId, stop.InstanceId);
        Assert.Equal("a1", names[stop.FromNodeId!]);
        Output.WriteLine(stop.Reason);
        Assert.Contains($"instance '{first.InstanceId}' failed on node '{a1}'", stop.Reason, StringComparison.Ordinal);
        Assert.Contains("exited with code 1", stop.Reason, StringComparison.Ordinal);
        Assert.Contains("not restarted", stop.Reason, StringComparison.Ordinal);
        Assert.Contains("placed again elsewhere", stop.Reason, StringComparison.Ordinal);
        var replacement = decisions.Skip(decisions.IndexOf(stop) + 1).First(d => d.Kind == "start");
        Assert.Equal("a2", names[replacement.ToNodeId!]);
        Assert.Equal(replacement.InstanceId, instance.GetProperty("instanceId").GetString());
        Assert.Contains($"Function 'counter' instance '{first.InstanceId}' did not start on node '{a1}'", Aggregator!.Output, StringComparison.Ordinal);
        Assert.Contains("The node takes no new instances for 60 s.", Aggregator.Output, StringComparison.Ordinal);

        // Load raises the desired count to 2 well within the 60 s penalty: the new instance goes to a3,
        // not to a1, whose GPU is still the least busy but which is not a candidate.
        var load = HoldLoad(sleepMs: 1_000);
        await Fleet.WaitUntilAsync(
            async () => (await InstanceNodesAsync()).Length == 2,
            Timeout,
            "counter has 2 instances",
            async () => (await GetAsync(Path)).ToString());
        Assert.Equal(["a2", "a3"], (await InstanceNodesAsync()).Select(n => names[n]).Order(StringComparer.Ordinal));
        var scaleUp = (await DecisionsAsync()).EnumerateArray().First(d => d.GetProperty("kind").GetString() == "scale" && d.GetProperty("inputs").GetProperty("desired").GetInt32() == 2);
        Output.WriteLine(scaleUp.GetProperty("reason").GetString());
        var candidates = scaleUp.GetProperty("inputs").GetProperty("candidates").EnumerateArray().Select(c => names[c.GetProperty("nodeId").GetString()!]).ToArray();
        Assert.Equal(["a3"], candidates);
        Assert.Equal(["a1"], (await PlacementDecisionsAsync()).Where(d => d.Kind == "start" && d.ToNodeId == a1).Select(d => names[d.ToNodeId!]));

        foreach (var answer in await load.WaitAsync(TimeSpan.FromSeconds(110)))
        {
            Assert.Equal(200, (int)answer.StatusCode);
            answer.Dispose();
        }
    }

    private async Task<List<PlacementDecision>> PlacementDecisionsAsync()
        => (await DecisionsAsync()).EnumerateArray()
            .Select(d => new PlacementDecision(
                d.GetProperty("kind").GetString()!,
                Text(d, "instanceId"),
                Text(d, "fromNodeId"),
                Text(d, "toNodeId"),
                d.GetProperty("reason").GetString()!))
            .ToList();

    private static string? Text(JsonElement record, string name)
        => record.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private sealed record PlacementDecision(string Kind, string? InstanceId, string? FromNodeId, string? ToNodeId, string Reason);
}
