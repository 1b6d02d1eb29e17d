using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Faults;

/// <summary>
/// Issue 13: a stop is durable until its node acknowledges it. The counter's only node goes away
/// (its agent SIGKILLed; the instance runs on, as instances outlive their agent) and the counter is
/// deleted meanwhile, so the stop cannot reach the node. When the agent comes back and reports the
/// instance running, the instance must be stopped and its state deleted, not left running or adopted:
/// once with the same aggregator, once with the aggregator SIGKILLed and restarted in between.
/// </summary>
[Trait("Category", "Faults")]
public sealed class StopWhileNodeAwayTests(ITestOutputHelper output) : AggregatorKillTestBase(output)
{
    [Fact]
    public async Task FunctionDeletedWhileItsNodeIsAway_TheInstanceStopsWithItsStateWhenTheNodeReturns_EvenAfterAnAggregatorSigkill()
    {
        Fleet.StartAgent("a1", serverNumber: 1);
        await Fleet.WaitForAliveCountAsync(1, CounterFleet.Timeout);

        foreach (var killAggregator in new[] { false, true })
        {
            await Counter.DeployAsync(commitIntervalSeconds: 0);
            var instance = await Counter.WaitForInstanceAsync(CounterFleet.Running, "the counter runs on a1");
            var id = CounterFleet.IdOf(instance);
            var pid = instance.GetProperty("pid").GetInt32();
            var directory = Path.GetDirectoryName(Counter.StateDirectoryOf("a1", id))!;
            Assert.True(System.IO.Directory.Exists(directory), $"'{directory}' exists while '{id}' runs");

            var agent = Fleet.AgentProcesses("a1");
            agent.Kill();
            await agent.WaitForExitAsync(TimeSpan.FromSeconds(20));
            Assert.True(CounterFleet.Alive(pid), $"'{id}' runs on without its agent");

            using (var deleted = await Fleet.Http.DeleteAsync("/v1/functions/counter"))
            {
                Assert.True(deleted.IsSuccessStatusCode, await deleted.Content.ReadAsStringAsync());
            }

            // The stop is decided (and finds the node gone) before the node comes back.
            await Fleet.WaitUntilAsync(
                () => Task.FromResult(AggregatorLog().Contains($"stop of function 'counter' instance '{id}'", StringComparison.Ordinal)),
                CounterFleet.Timeout,
                $"the aggregator decides to stop '{id}'");
            if (killAggregator)
            {
                Aggregator.Kill();
                await Aggregator.WaitForExitAsync(TimeSpan.FromSeconds(20));
                Aggregator = Fleet.StartAggregator();
                await Fleet.WaitForAggregatorAsync();
            }

            Output.WriteLine($"'{id}' (pid {pid}) deleted while a1 was away{(killAggregator ? ", then the aggregator SIGKILLed and restarted" : "")}; a1 comes back.");
            Fleet.StartAgent("a1", serverNumber: 1);
            await Fleet.WaitUntilAsync(
                () => Task.FromResult(!CounterFleet.Alive(pid) && !System.IO.Directory.Exists(directory)),
                CounterFleet.Timeout,
                $"'{id}' is stopped and its state directory deleted",
                () => Task.FromResult($"process {pid} {(CounterFleet.Alive(pid) ? "runs" : "is gone")}; '{directory}' {(System.IO.Directory.Exists(directory) ? "exists" : "is gone")}"));
            await Fleet.WaitForAliveCountAsync(1, CounterFleet.Timeout);
        }
    }

    private string AggregatorLog() => Fleet.ReadLog(Path.Combine(Fleet.Directory, "aggregator", "aggregator.log"));
}
