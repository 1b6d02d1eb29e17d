using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Faults;

/// <summary>
/// Issue 13: the aggregator SIGKILLed while an agent commits an instance's state every second, twice
/// in a row, and restarted on the same data directory each time. Its store must come back whole: it
/// serves the instance, the instance's committed state version carries on upwards, and when the
/// instance's node is lost the instance resumes on another node from exactly the last commit.
/// </summary>
[Trait("Category", "Faults")]
public sealed class AggregatorKilledDuringCommitsTests(ITestOutputHelper output) : AggregatorKillTestBase(output)
{
    [Fact]
    public async Task AggregatorSigkilledTwiceWhileCommitting_StoreIntact_CommitsResume_InstanceMovesWithTheLastCommit()
    {
        Fleet.StartAgent("a1", serverNumber: 1);
        Fleet.StartAgent("a2", serverNumber: 2);
        await Fleet.WaitForAliveCountAsync(2, CounterFleet.Timeout);
        await Counter.DeployAsync(commitIntervalSeconds: 1);
        var instance = await Counter.WaitForInstanceAsync(CounterFleet.Running, "the counter runs");
        var id = CounterFleet.IdOf(instance);
        var port = instance.GetProperty("port").GetInt32();
        var home = instance.GetProperty("nodeId").GetString()!;
        Assert.Equal(1, await Counter.PostWhenUpAsync(port));

        // Requests go straight to the node's port, so they keep changing the state (and the agent
        // keeps committing it) while the aggregator is down and coming back.
        using var stop = new CancellationTokenSource();
        var driver = DriveAsync(port, stop.Token);
        try
        {
            ulong seen = 0;
            for (var kill = 1; kill <= 2; kill++)
            {
                var committed = await Counter.WaitForStateVersionAboveAsync(id, seen + 2, $"commits flow before kill {kill}");
                seen = CounterFleet.StateVersionOf(committed);
                Output.WriteLine($"Kill {kill}: SIGKILL the aggregator at state version {seen}.");
                Aggregator.Kill();
                await Aggregator.WaitForExitAsync(TimeSpan.FromSeconds(20));

                Aggregator = Fleet.StartAggregator();
                Assert.False(Aggregator.HasExited, $"the aggregator did not start again on its data directory:{Environment.NewLine}{Aggregator.Output}");
                await Fleet.WaitForAggregatorAsync();
                var back = await Counter.WaitForStateVersionAboveAsync(id, seen, $"commits resume above version {seen} after restart {kill}");
                Assert.Equal(home, back.GetProperty("nodeId").GetString());
                seen = CounterFleet.StateVersionOf(back);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await driver;
        }

        // The requests have stopped: the count now in the state directory is committed, and the
        // aggregator (alive since the second restart) reports that version.
        var count = await Counter.PostWhenUpAsync(port);
        var last = await Counter.CommitAboveAsync(port, 0, "the last count is committed");
        await Counter.WaitForInstanceAsync(i => CounterFleet.IdOf(i) == id && CounterFleet.StateVersionOf(i) >= last, $"the aggregator reports version {last}");
        Output.WriteLine($"Count {count} committed as version {last}.");

        // Its node lost, the instance resumes elsewhere from the store: the last committed count.
        var moved = await Counter.LoseHomeAsync(id, home);
        Assert.Equal(count + 1, await Counter.PostWhenUpAsync(moved.GetProperty("port").GetInt32()));
    }

    private async Task DriveAsync(int port, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Counter.PostAsync(port);
                await Task.Delay(50, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                Output.WriteLine($"A request to the counter failed (asked again): {ex.Message}");
            }
        }
    }
}
