using Drover.FleetSim;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Scale;

/// <summary>
/// Issue 17: the fleet simulator stays runnable. 100 simulated agents on their own mutual-TLS connections to a real
/// aggregator for 5 s, one stopped abruptly and one hung, then the aggregator killed and started again: the report
/// must hold every figure, the faulted agents found lost, and the fleet back. Speed is not asserted here: the
/// figures are measured by make bench-fleet and kept in docs/BENCHMARKS.md.
/// </summary>
[Trait("Category", "Scale")]
public sealed class FleetSimulatorSmokeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task HundredAgents_FiveSeconds_ReportsEveryFigure()
    {
        var progress = new StringWriter();
        var options = new FleetSimOptions { Agents = 100, Gpus = 8, Seconds = 5, Out = Repository.Out };
        Assert.Null(options.Problem());

        var report = await FleetRun.RunAsync(options, progress, CancellationToken.None);
        output.WriteLine(progress.ToString());
        output.WriteLine(report.ToJsonString());

        Assert.Equal(100, (int)report["agents"]!);
        Assert.True((double)report["ingestPerSecond"]! > 0);
        Assert.True((double)report["heartbeatsSeenPerSecond"]! > 0);
        Assert.True((double)report["aggregatorCpuPercent"]! > 0);
        Assert.True((double)report["aggregatorRssMb"]! > 0);
        Assert.True((int)report["visibleSamples"]! > 0);
        Assert.NotNull(report["visibleP99Ms"]);

        // Both faulted agents are found lost, each after its last heartbeat.
        Assert.Equal(2, (int)report["lostDetected"]!);
        Assert.Equal(0, (int)report["lostNotDetected"]!);
        Assert.True((double)report["lostDetectMaxMs"]! > 0);

        // Every running agent reconnects to the restarted aggregator.
        Assert.Equal(0, (int)report["notBackAfterRestart"]!);
        Assert.NotNull(report["restartRecoverMs"]);
    }
}
