using System.Diagnostics;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Faults;

/// <summary>
/// Issue 13: the aggregator SIGKILLed while instances move, twice in a row each time, over two
/// rounds. An autoscaled counter runs two instances with committed counts on three nodes; a host
/// with one of them dies (agent and instance SIGKILLed), and the moment the aggregator assigns that
/// instance elsewhere it is SIGKILLed, restarted, SIGKILLed again at once and restarted. Whatever the
/// kills interrupted, every instance must end with exactly one running copy, holding its newest
/// committed count, and the dead host, when it comes back, must not run a second copy.
/// </summary>
[Trait("Category", "Faults")]
public sealed class AggregatorKilledDuringMovesTests(ITestOutputHelper output) : AggregatorKillTestBase(output)
{
    private static readonly string[] Agents = ["a1", "a2", "a3"];

    [Fact]
    public async Task AggregatorSigkilledTwiceDuringEachMove_EveryInstanceEndsWithOneCopyAndItsLastCommit()
    {
        for (var i = 0; i < Agents.Length; i++)
        {
            Fleet.StartAgent(Agents[i], serverNumber: i + 1);
        }

        await Fleet.WaitForAliveCountAsync(Agents.Length, CounterFleet.Timeout);
        var nameOf = Agents.ToDictionary(Fleet.NodeIdOf, a => a, StringComparer.Ordinal);
        await Counter.DeployAutoscaledAsync(instances: 2);
        await WaitForOneCopyEachAsync(2, "two counters run, one copy each");

        // Each instance gets its own count, committed: what it must hold wherever it goes.
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var requests = 3;
        foreach (var instance in (await Counter.InstancesAsync()).OrderBy(CounterFleet.IdOf, StringComparer.Ordinal))
        {
            counts[CounterFleet.IdOf(instance)] = await CountAndCommitAsync(instance, requests);
            requests += 2;
        }

        for (var round = 1; round <= 2; round++)
        {
            var instances = await Counter.InstancesAsync();
            var moving = instances.OrderBy(CounterFleet.IdOf, StringComparer.Ordinal).First();
            var id = CounterFleet.IdOf(moving);
            var from = moving.GetProperty("nodeId").GetString()!;
            var host = nameOf[from];
            Output.WriteLine($"Round {round}: host {host} ('{from}') dies with instance '{id}' (count {counts[id]}).");
            KillHost(host);

            // The move is decided and durable once the API shows the instance elsewhere: kill it then.
            var moved = await Counter.WaitForInstanceAsync(i => CounterFleet.IdOf(i) == id && i.GetProperty("nodeId").GetString() != from, $"round {round}: '{id}' is assigned away from '{from}'");
            Aggregator.Kill();
            await Aggregator.WaitForExitAsync(TimeSpan.FromSeconds(20));
            Output.WriteLine($"Round {round}: SIGKILL the aggregator as '{id}' moves to '{moved.GetProperty("nodeId").GetString()}' (state '{moved.GetProperty("state").GetString()}').");

            Aggregator = Fleet.StartAggregator();
            Aggregator.Kill();
            await Aggregator.WaitForExitAsync(TimeSpan.FromSeconds(20));
            Output.WriteLine($"Round {round}: SIGKILL the aggregator again as soon as it answered.");
            Aggregator = Fleet.StartAggregator();
            Assert.False(Aggregator.HasExited, $"the aggregator did not start again on its data directory:{Environment.NewLine}{Aggregator.Output}");

            // The dead host comes back with its old copy's files: it must not run a second copy.
            Fleet.StartAgent(host, serverNumber: Array.IndexOf(Agents, host) + 1);
            await Fleet.WaitForAliveCountAsync(Agents.Length, CounterFleet.Timeout);
            await WaitForOneCopyEachAsync(2, $"round {round}: one copy of each instance after the kills");

            foreach (var instance in await Counter.InstancesAsync())
            {
                var instanceId = CounterFleet.IdOf(instance);
                Assert.True(counts.ContainsKey(instanceId), $"round {round}: instance '{instanceId}' is new: an empty copy replaced one of {string.Join(", ", counts.Keys)}");
                counts[instanceId] = await CountAndCommitAsync(instance, 1, expectedFirst: counts[instanceId] + 1);
            }
        }
    }

    /// <summary>The host's agent and its instances SIGKILLed, as when the machine dies.</summary>
    private void KillHost(string agent)
    {
        var pids = Counter.PidsOf(agent).Select(p => p.Pid).ToArray();
        Fleet.AgentProcesses(agent).Kill();
        foreach (var pid in pids)
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
            }
            catch (ArgumentException)
            {
            }
        }
    }

    /// <summary>
    /// Sends <paramref name="requests"/> to the instance (the first answering <paramref name="expectedFirst"/>
    /// when given: the state it resumed with), commits, and returns the count committed.
    /// </summary>
    private async Task<long> CountAndCommitAsync(JsonElement instance, int requests, long? expectedFirst = null)
    {
        var port = instance.GetProperty("port").GetInt32();
        var count = await Counter.PostWhenUpAsync(port);
        if (expectedFirst is { } first)
        {
            Assert.True(first == count, $"instance '{CounterFleet.IdOf(instance)}' answered {count} where its last commit makes {first}: it did not resume from its newest committed state");
        }

        for (var r = 1; r < requests; r++)
        {
            count = await Counter.PostAsync(port);
        }

        await Counter.CommitAboveAsync(port, 0, $"instance '{CounterFleet.IdOf(instance)}' commits count {count}");
        return count;
    }

    /// <summary>Waits until the API shows <paramref name="instances"/> running instances and every one of them runs as exactly one process.</summary>
    private async Task WaitForOneCopyEachAsync(int instances, string what)
    {
        var last = "";
        await Fleet.WaitUntilAsync(
            async () =>
            {
                JsonElement[] listed;
                try
                {
                    listed = await Counter.InstancesAsync();
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    last = $"the aggregator does not answer: {ex.Message}";
                    return false;
                }

                var copies = Counter.LiveCopies();
                last = $"instances {JsonSerializer.Serialize(listed)}; live copies {JsonSerializer.Serialize(copies)}";
                return listed.Length == instances
                    && listed.All(CounterFleet.Running)
                    && listed.All(i => copies.GetValueOrDefault(CounterFleet.IdOf(i)) == 1)
                    && copies.Count == instances;
            },
            CounterFleet.Timeout,
            what,
            () => Task.FromResult(last));
    }
}
