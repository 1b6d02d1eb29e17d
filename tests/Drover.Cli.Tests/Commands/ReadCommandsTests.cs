using System.Text.Json;
using Drover.Cli.Tests.Infrastructure;
using Drover.Cli.Tests.Views;

namespace Drover.Cli.Tests.Commands;

public sealed class ReadCommandsTests : IDisposable
{
    private readonly CliRun _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Nodes_Json_TheApiAnswerIndented()
    {
        await using var server = FakeAggregator.Answering(("/v1/nodes", 200, Canned.Nodes));

        var result = await _cli.RunAsync("--url", server.Url, "nodes", "-o", "json");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        Assert.StartsWith("[\n  {\n    \"nodeId\": \"gpu-b\"", result.Out, StringComparison.Ordinal);
        Assert.Equal(
            JsonSerializer.Serialize(JsonDocument.Parse(Canned.Nodes).RootElement),
            JsonSerializer.Serialize(JsonDocument.Parse(result.Out).RootElement));
    }

    [Fact]
    public async Task Gpus_NoNode_EveryNodesGpus()
    {
        await using var server = FakeAggregator.Answering(
            ("/v1/nodes", 200, Canned.Nodes),
            ("/v1/nodes/gpu-a/gpus", 200, Canned.Gpus),
            ("/v1/nodes/gpu-b/gpus", 200, "[]"));

        var table = await _cli.RunAsync("--url", server.Url, "gpus");
        var json = await _cli.RunAsync("--url", server.Url, "gpus", "-o", "json");

        Assert.True(table.ExitCode == ExitCodes.Ok, table.ToString());
        Assert.Equal(4, table.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var byNode = JsonDocument.Parse(json.Out).RootElement;
        Assert.Equal(["gpu-a", "gpu-b"], byNode.EnumerateArray().Select(n => n.GetProperty("nodeId").GetString()));
        Assert.Equal(3, byNode[0].GetProperty("gpus").GetArrayLength());
    }

    [Fact]
    public async Task Gpus_NodeForgottenMeanwhile_Skipped()
    {
        await using var server = FakeAggregator.Answering(("/v1/nodes", 200, Canned.Nodes), ("/v1/nodes/gpu-a/gpus", 200, Canned.Gpus));

        var result = await _cli.RunAsync("--url", server.Url, "gpus");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        Assert.DoesNotContain("gpu-b", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gpus_OneNode_ItsGpusOnly()
    {
        await using var server = FakeAggregator.Answering(("/v1/nodes/gpu-a/gpus", 200, Canned.Gpus));

        var result = await _cli.RunAsync("--url", server.Url, "gpus", "gpu-a", "-o", "json");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        Assert.Equal(3, JsonDocument.Parse(result.Out).RootElement.GetArrayLength());
        Assert.Equal("/v1/nodes/gpu-a/gpus", Assert.Single(server.Requests).PathAndQuery);
    }

    [Fact]
    public async Task Function_Json_DefinitionAndDecisions()
    {
        await using var server = FakeAggregator.Answering(("/v1/functions/resize", 200, Canned.Function), ("/v1/functions/resize/decisions", 200, Canned.Decisions(2)));

        var result = await _cli.RunAsync("--url", server.Url, "function", "resize", "-o", "json");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        var answer = JsonDocument.Parse(result.Out).RootElement;
        Assert.Equal("resize", answer.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal(2, answer.GetProperty("decisions").GetArrayLength());
    }

    [Fact]
    public async Task Clusters_Table_PlainWhenNotATerminal()
    {
        await using var server = FakeAggregator.Answering(("/v1/clusters", 200, Canned.Clusters));

        var result = await _cli.RunAsync("--url", server.Url, "clusters");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.ToString());
        Assert.StartsWith("CLUSTER   HEALTH", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("╭", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Clusters_Terminal_BordersAndColour()
    {
        await using var server = FakeAggregator.Answering(("/v1/clusters", 200, Canned.Clusters));
        _cli.Terminal = true;

        var result = await _cli.RunAsync("--url", server.Url, "clusters");

        Assert.Contains("╭", result.Out, StringComparison.Ordinal);
        Assert.Contains("\u001b[32mhealthy", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Clusters_TerminalWithNoColor_BordersWithoutColour()
    {
        await using var server = FakeAggregator.Answering(("/v1/clusters", 200, Canned.Clusters));
        _cli.Terminal = true;
        _cli.Environment["NO_COLOR"] = "1";

        var result = await _cli.RunAsync("--url", server.Url, "clusters");

        Assert.Contains("╭", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nodes_TerminalTooNarrowForBorders_PlainColumnsRatherThanSqueezed()
    {
        await using var server = FakeAggregator.Answering(("/v1/nodes", 200, Canned.Nodes));
        _cli.Terminal = true;
        _cli.Environment["NO_COLOR"] = "1";
        _cli.TerminalWidth = 60;

        var result = await _cli.RunAsync("--url", server.Url, "nodes");

        Assert.DoesNotContain("╭", result.Out, StringComparison.Ordinal);
        Assert.Contains("gpu-a   c1", result.Out, StringComparison.Ordinal);
    }
}
