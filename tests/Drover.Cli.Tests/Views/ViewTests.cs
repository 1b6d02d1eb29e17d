using Drover.Cli.Views;

namespace Drover.Cli.Tests.Views;

/// <summary>Each table of canned API JSON: the columns people read, in the order they read them.</summary>
public sealed class ViewTests
{
    [Fact]
    public void Nodes_Plain_OneRowPerNodeByClusterAndServerNumber()
    {
        var lines = Render.Lines(NodesView.Render(Canned.Json(Canned.Nodes), plain: true));

        Assert.Equal(["NODE", "CLUSTER", "SERVER", "ADDRESS", "SURVIVAL", "SURVIVES", "HEARTBEAT", "GPUS", "WEIGHT", "PRIORITY", "AGENT"], Render.Cells(lines[0]));
        Assert.Equal(["gpu-a", "c1", "1", "10.0.0.1:7411", "alive", "yes", "412ms", "8", "250 (override)", "-5", "0.1.0"], Render.Cells(lines[1]));
        Assert.Equal(["gpu-b", "c1", "2", "10.0.0.2:7412", "lost", "no", "2m05s", "2", "100", "0", "0.1.0"], Render.Cells(lines[2]));
        Assert.Equal(3, lines.Length);
    }

    [Fact]
    public void Nodes_Bordered_DrawsABoxAroundTheSameCells()
    {
        var lines = Render.Lines(NodesView.Render(Canned.Json(Canned.Nodes), plain: false));

        Assert.StartsWith("╭", lines[0], StringComparison.Ordinal);
        Assert.Contains("│ gpu-a │", lines.Single(l => l.Contains("gpu-a", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.StartsWith("╰", lines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void Nodes_Empty_HeaderOnly()
        => Assert.Single(Render.Lines(NodesView.Render(Canned.Json("[]"), plain: true)));

    [Fact]
    public void Gpus_Plain_MemoryInGiBQueueWithItsSourceAndMig()
    {
        var lines = Render.Lines(GpusView.Render([("gpu-a", Canned.Json(Canned.Gpus))], plain: true));

        Assert.Equal(["NODE", "GPU", "NAME", "HEALTH", "UTIL%", "MEM USED/TOTAL GiB", "CMD QUEUE", "TEMP C", "POWER W", "MIG", "REASON"], Render.Cells(lines[0]));
        Assert.Equal(["gpu-a", "0", "NVIDIA H100 80GB HBM3", "ok", "73", "40.0/80.0", "3.25 (measured)", "61", "412"], Render.Cells(lines[1]));
        Assert.Equal(["gpu-a", "1", "NVIDIA H100 80GB HBM3", "unhealthy", "0", "0.0/80.0", "unknown", "30", "70", "enabled", "XID 79: fallen off the bus"], Render.Cells(lines[2]));
        Assert.Equal(["gpu-a", "2", "NVIDIA H100 80GB HBM3 MIG 1g.10gb", "ok", "5", "1.0/10.0", "1 (estimated)", "30", "70", "1g.10gb of GPU-bbbb"], Render.Cells(lines[3]));
    }

    [Fact]
    public void Gpus_SeveralNodes_RowsOfEachInTurn()
    {
        var lines = Render.Lines(GpusView.Render([("gpu-a", Canned.Json(Canned.Gpus)), ("gpu-b", Canned.Json("[]")), ("gpu-c", Canned.Json(Canned.Gpus))], plain: true));

        Assert.Equal(7, lines.Length);
        Assert.Equal(["gpu-a", "gpu-a", "gpu-a", "gpu-c", "gpu-c", "gpu-c"], lines.Skip(1).Select(l => Render.Cells(l)[0]));
    }

    [Fact]
    public void Clusters_Plain_SurvivorsAgainstThresholdShareAndWhoServesWhom()
    {
        var lines = Render.Lines(ClustersView.Render(Canned.Json(Canned.Clusters), plain: true));

        Assert.Equal(["CLUSTER", "HEALTH", "SURVIVORS", "THRESHOLD", "ROLE", "GROUP", "MODE", "WEIGHT", "PRIORITY", "SHARE", "SERVED BY", "SERVING FOR"], Render.Cells(lines[0]));
        Assert.Equal(["c1", "unhealthy", "1/3", "2", "master", "default", "all-masters", "100", "0", "0%", "c2"], Render.Cells(lines[1]));
        Assert.Equal(["c2", "healthy", "3/3", "2", "master", "default", "all-masters", "100", "0", "100%", "c1"], Render.Cells(lines[2]).Where(c => c.Length > 0));
    }

    [Fact]
    public void Clusters_Degraded_SaysSoAboveTheTable()
    {
        var lines = Render.Lines(ClustersView.Render(Canned.Json("""{"degraded":true,"reason":"fail open: c1 serves","clusters":[]}"""), plain: true));

        Assert.Equal("degraded: no cluster is healthy (fail open: c1 serves)", lines[0]);
        Assert.StartsWith("CLUSTER", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Leader_Plain_TheAskedItsRoleAndTheLeader()
    {
        var lines = Render.Lines(LeaderView.Render(Canned.Json(Canned.Leader), plain: true));

        Assert.Equal(["ASKED", "ROLE", "LEADER", "TERM", "API", "LINK", "SINCE", "STORE"], Render.Cells(lines[0]));
        Assert.Equal(["agg-2-41", "follower", "agg-1-7", "7", "https://agg-1:7400", "https://agg-1:7401", "2026-12-05T02:20:00+00:00", "postgres://db:5432/drover"], Render.Cells(lines[1]));
    }

    [Fact]
    public void Leader_NoneReachable_SaysWhy()
    {
        var lines = Render.Lines(LeaderView.Render(Canned.Json("""{"aggregatorId":"agg-2-41","role":"follower","store":"postgres://db:5432/drover","storeId":"s","term":7,"leader":null}"""), plain: true));

        Assert.Contains("none (an election is under way, or the store cannot be read)", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Functions_Plain_ByNameWithPlacementAsApplied()
    {
        var lines = Render.Lines(FunctionsView.Render(Canned.Json(Canned.Functions), plain: true));

        Assert.Equal(["FUNCTION", "VERSION", "PLACEMENT", "INSTANCES", "SLO", "QUEUE", "GPU", "PUBLIC", "COMMAND"], Render.Cells(lines[0]));
        Assert.Equal(["counter", "1", "every-node", "1", "4", "any", "no", "/opt/counter"], Render.Cells(lines[1]));

        // No placement but a maxInstances: the aggregator autoscales it.
        Assert.Equal(["resize", "3", "autoscale", "1..4", "2", "64", "any", "yes", "/opt/resize --fast"], Render.Cells(lines[2]));
    }

    [Fact]
    public void Function_SummaryInstancesAndTheLastDecisions()
    {
        var lines = Render.Lines(FunctionView.Render(Canned.Json(Canned.Function), Canned.Json(Canned.Decisions(12)), lastDecisions: 10, plain: true));
        var text = string.Join('\n', lines);

        Assert.Contains(lines, l => l.StartsWith("Function", StringComparison.Ordinal) && l.EndsWith("resize", StringComparison.Ordinal));
        Assert.Contains("autoscale, 1..4 instances, margin 1, GPU any", text, StringComparison.Ordinal);
        Assert.Contains("7 in the queue (3 waiting, 4 in flight)", text, StringComparison.Ordinal);
        Assert.Contains("1 running of 3 desired", text, StringComparison.Ordinal);
        Assert.Contains("Instances (2)", text, StringComparison.Ordinal);
        Assert.Equal(["resize-1", "gpu-a", "running", "yes", "4242", "41000", "0", "12", "GPU-aaaa"], Render.Cells(lines.Single(l => l.StartsWith("resize-1", StringComparison.Ordinal))));
        Assert.Contains("exited with code 1", lines.Single(l => l.StartsWith("resize-2", StringComparison.Ordinal)), StringComparison.Ordinal);

        // The last 10 of 12, oldest first.
        Assert.Contains("Decisions (the last 10 of 12)", text, StringComparison.Ordinal);
        var decisions = lines.Where(l => l.StartsWith("2025-", StringComparison.Ordinal)).ToArray();
        Assert.Equal(10, decisions.Length);
        Assert.EndsWith("decision number 3", decisions[0], StringComparison.Ordinal);
        Assert.EndsWith("decision number 12", decisions[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void Services_Plain_RoutingAndPolicy()
    {
        var lines = Render.Lines(ServicesView.Render(Canned.Json(Canned.Services), plain: true));

        Assert.Equal(["SERVICE", "VERSION", "INSTANCES", "POLICY", "ROUTING", "SLO", "PUBLIC", "COMMAND"], Render.Cells(lines[0]));
        Assert.Equal(["api", "1", "1", "power-of-two-choices", "1", "yes", "/opt/api"], Render.Cells(lines[1]));
        Assert.Equal(["web", "2", "3", "least-in-flight", "header X-User", "8", "no", "/opt/web -p 80"], Render.Cells(lines[2]));
    }

    [Fact]
    public void Nodes_ValuesWithMarkup_AreShownAsText()
    {
        var lines = Render.Lines(NodesView.Render(Canned.Json("""[{"nodeId":"[red]x[/]","cluster":"c1"}]"""), plain: true));

        Assert.StartsWith("[red]x[/]", lines[1], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "")]
    [InlineData(0d, "0ms")]
    [InlineData(999d, "999ms")]
    [InlineData(1500d, "1.5s")]
    [InlineData(65_000d, "1m05s")]
    [InlineData(7_800_000d, "2h10m")]
    [InlineData(90_000_000d, "1d01h")]
    public void Age_Milliseconds_Short(double? milliseconds, string expected)
        => Assert.Equal(expected, Field.Age(milliseconds));
}
