using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Instances;

/// <summary>
/// The counter sample deployed as a function on real agents: its process SIGKILLed, its agent
/// restarted, its node lost; the count it keeps in its state directory must survive each.
/// </summary>
public sealed class InstanceTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly Fleet _fleet = new(output);
    private readonly CounterClient _counter = new(callTimeout: TimeSpan.FromSeconds(10), upTimeout: Timeout, retryTimedOut: false);

    public async Task InitializeAsync()
    {
        _fleet.StartAggregator();
        await _fleet.WaitForAggregatorAsync();
    }

    public async Task DisposeAsync()
    {
        _counter.Dispose();
        await _fleet.DisposeAsync();
    }

    private async Task DeployCounterAsync(int commitIntervalSeconds)
    {
        var definition = new
        {
            runtime = new { type = "process", command = Repository.Counter },
            commitIntervalSeconds,
        };
        using var response = await _fleet.Http.PutAsJsonAsync("/v1/functions/counter", definition);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<JsonElement[]> InstancesAsync()
        => await _fleet.Http.GetFromJsonAsync<JsonElement[]>("/v1/functions/counter/instances") ?? [];

    private Task<JsonElement> WaitForInstanceAsync(Func<JsonElement, bool> condition, string what)
        => WaitForInstanceAsync(condition, what, Timeout);

    private async Task<JsonElement> WaitForInstanceAsync(Func<JsonElement, bool> condition, string what, TimeSpan timeout)
    {
        JsonElement found = default;
        await Fleet.WaitUntilAsync(
            async () =>
            {
                var match = (await InstancesAsync()).Where(condition).ToArray();
                if (match.Length == 0)
                {
                    return false;
                }

                found = match[0];
                return true;
            },
            timeout,
            what,
            async () => JsonSerializer.Serialize(await InstancesAsync()));
        return found;
    }

    private static bool Running(JsonElement i) => i.GetProperty("state").GetString() == "running" && i.GetProperty("pid").GetInt32() > 0;

    [Fact]
    public async Task CounterProcessSigkilled_IsReplacedWithSameIdAndStateDirectory_CountIntact()
    {
        _fleet.StartAgent("a1", serverNumber: 1);
        await _fleet.WaitForAliveCountAsync(1, Timeout);
        await DeployCounterAsync(commitIntervalSeconds: 10);
        var instance = await WaitForInstanceAsync(Running, "the counter runs");
        var id = instance.GetProperty("instanceId").GetString();
        var port = instance.GetProperty("port").GetInt32();
        var pid = instance.GetProperty("pid").GetInt32();
        for (var i = 1; i <= 5; i++)
        {
            Assert.Equal(i, await _counter.PostWhenUpAsync(port));
        }

        using (var process = Process.GetProcessById(pid))
        {
            process.Kill();
        }

        var replaced = await WaitForInstanceAsync(i => Running(i) && i.GetProperty("pid").GetInt32() != pid, "a replacement process runs");
        Assert.Equal(id, replaced.GetProperty("instanceId").GetString());
        Assert.Equal(port, replaced.GetProperty("port").GetInt32());
        Assert.Equal(1, replaced.GetProperty("restarts").GetInt32());
        Assert.Equal(9, replaced.GetProperty("lastSignal").GetInt32());
        Assert.Equal(6, await _counter.PostWhenUpAsync(port));
    }

    [Fact]
    public async Task CounterCrashesOnRequest_IsRestartedAndKeepsCounting()
    {
        _fleet.StartAgent("a1", serverNumber: 1);
        await _fleet.WaitForAliveCountAsync(1, Timeout);
        await DeployCounterAsync(commitIntervalSeconds: 10);
        var instance = await WaitForInstanceAsync(Running, "the counter runs");
        var port = instance.GetProperty("port").GetInt32();
        await _counter.PostWhenUpAsync(port);

        using (var crash = await _counter.Http.PostAsync($"http://127.0.0.1:{port}/?crash=1", null))
        {
            Assert.Equal(2, (await crash.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("count").GetInt64());
        }

        var restarted = await WaitForInstanceAsync(i => Running(i) && i.GetProperty("restarts").GetInt32() == 1, "the counter is restarted");
        Assert.Equal(1, restarted.GetProperty("lastExitCode").GetInt32());
        Assert.Equal(3, await _counter.PostWhenUpAsync(port));
    }

    [Fact]
    public async Task AgentStoppedAndStarted_InstanceResumesWithItsState()
    {
        _fleet.StartAgent("a1", serverNumber: 1, extraArgs: ["--stopInstancesOnExit", "true"]);
        await _fleet.WaitForAliveCountAsync(1, Timeout);
        await DeployCounterAsync(commitIntervalSeconds: 10);
        var instance = await WaitForInstanceAsync(Running, "the counter runs");
        var id = instance.GetProperty("instanceId").GetString();
        for (var i = 0; i < 3; i++)
        {
            await _counter.PostWhenUpAsync(instance.GetProperty("port").GetInt32());
        }

        var agents = _fleet.AgentProcesses("a1");
        agents.Terminate();
        Assert.Equal(0, await agents.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        _fleet.StartAgent("a1", serverNumber: 1, extraArgs: ["--stopInstancesOnExit", "true"]);

        var resumed = await WaitForInstanceAsync(i => Running(i) && i.GetProperty("pid").GetInt32() != instance.GetProperty("pid").GetInt32(), "the counter runs again");
        Assert.Equal(id, resumed.GetProperty("instanceId").GetString());
        Assert.Equal(4, await _counter.PostWhenUpAsync(resumed.GetProperty("port").GetInt32()));
    }

    [Fact]
    public async Task AgentSigkilledAndRestarted_AdoptsTheRunningProcess()
    {
        var agent = _fleet.StartAgent("a1", serverNumber: 1);
        await _fleet.WaitForAliveCountAsync(1, Timeout);
        await DeployCounterAsync(commitIntervalSeconds: 10);
        var instance = await WaitForInstanceAsync(Running, "the counter runs");
        var pid = instance.GetProperty("pid").GetInt32();
        var port = instance.GetProperty("port").GetInt32();
        Assert.Equal(1, await _counter.PostWhenUpAsync(port));

        agent.Kill();
        await agent.WaitForExitAsync(TimeSpan.FromSeconds(10));
        _fleet.StartAgent("a1", serverNumber: 1);

        var adopted = await WaitForInstanceAsync(i => Running(i) && i.GetProperty("reason").GetString()!.StartsWith("adopted", StringComparison.Ordinal), "the new agent adopts the process");
        Assert.Equal(pid, adopted.GetProperty("pid").GetInt32());
        Assert.Equal(2, await _counter.PostAsync(port));

        // The adopted process finds the new agent's local socket again (with the token it kept).
        using var commit = await _counter.Http.PostAsync($"http://127.0.0.1:{port}/commit", null);
        Assert.True(commit.IsSuccessStatusCode, await commit.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task NodeLost_InstanceResumesOnAnotherAgentFromTheLastCommit()
    {
        _fleet.StartAgent("a1", serverNumber: 1);
        var second = _fleet.StartAgent("a2", serverNumber: 2);
        await _fleet.WaitForAliveCountAsync(2, Timeout);
        var lostNode = _fleet.NodeIdOf("a2");
        await DeployCounterAsync(commitIntervalSeconds: 1);
        var instance = await WaitForInstanceAsync(i => Running(i) && i.GetProperty("nodeId").GetString() == lostNode, "the counter runs on node 2");
        var id = instance.GetProperty("instanceId").GetString();
        var port = instance.GetProperty("port").GetInt32();
        long count = 0;
        for (var i = 0; i < 5; i++)
        {
            count = await _counter.PostWhenUpAsync(port);
        }

        // A state larger than one chunk (3 MiB of noise beside the count) travels both ways in pieces.
        var bulk = System.Security.Cryptography.RandomNumberGenerator.GetBytes(3 * 1024 * 1024);
        await Fleet.WriteStateFileAsync(Path.Combine(_fleet.Directory, "agents", "a2", "state", "instances", id!, "state"), "bulk.bin", bulk);

        // The counter asks its agent for a commit over the local socket (CommitNow): the last count is
        // committed, as it would be by the next interval.
        using (var commit = await _counter.Http.PostAsync($"http://127.0.0.1:{port}/commit", null))
        {
            Assert.True(commit.IsSuccessStatusCode, await commit.Content.ReadAsStringAsync());
            Assert.True((await commit.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("committedVersion").GetInt64() >= 1);
        }

        var orphans = _fleet.InstancePids().ToArray();
        second.Kill();
        foreach (var orphan in orphans)
        {
            try
            {
                using var process = Process.GetProcessById(orphan);
                process.Kill(); // the host is gone: its instances with it
            }
            catch (ArgumentException)
            {
            }
        }

        var moved = await WaitForInstanceAsync(
            i => i.GetProperty("instanceId").GetString() == id && Running(i) && i.GetProperty("nodeId").GetString() != lostNode,
            "the instance resumes on the other node");
        var resumedCount = await _counter.PostWhenUpAsync(moved.GetProperty("port").GetInt32());

        // Nothing after the last commit was counted, so nothing is lost.
        Assert.Equal(count + 1, resumedCount);
        Assert.Equal(bulk, await File.ReadAllBytesAsync(Path.Combine(_fleet.Directory, "agents", "a1", "state", "instances", id!, "state", "bulk.bin")));
        var decisions = await _fleet.Http.GetFromJsonAsync<JsonElement[]>("/v1/functions/counter/decisions");
        var move = decisions!.Single(d => d.GetProperty("kind").GetString() == "move");
        Assert.Contains("is lost", move.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.True(move.GetProperty("restoredStateVersion").GetInt64() >= 1);
    }

    [Fact]
    public async Task PutFunction_BadDefinition_IsRefusedNamingTheField()
    {
        using var response = await _fleet.Http.PutAsJsonAsync("/v1/functions/counter", new { runtime = new { type = "process", command = "" } });

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("runtime.command", problem.GetProperty("field").GetString());
    }
}
