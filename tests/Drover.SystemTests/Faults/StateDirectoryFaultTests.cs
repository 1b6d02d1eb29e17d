using System.Net.Sockets;
using System.Text.RegularExpressions;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Faults;

/// <summary>
/// Issue 13: what an instance may leave in its state directory that a snapshot cannot take. A file
/// that makes the state larger than the agent's <c>maxStateBytes</c> is refused (said once, naming
/// the limit) while the instance runs on untouched, and commits resume once the file is gone; a Unix
/// socket is left out of every commit with one warning naming it, and commits go on.
/// </summary>
[Trait("Category", "Faults")]
public sealed partial class StateDirectoryFaultTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int MiB = 1024 * 1024;
    private readonly Fleet _fleet = new(output);
    private CounterFleet _counter = null!;

    public async Task InitializeAsync()
    {
        _counter = new CounterFleet(_fleet);
        _fleet.StartAggregator();
        await _fleet.WaitForAggregatorAsync();
    }

    public async Task DisposeAsync()
    {
        _counter.Dispose();
        await _fleet.DisposeAsync();
    }

    [Fact]
    public async Task StateOverMaxStateBytes_IsRefusedNamingTheLimit_InstanceKeepsRunning_CommitsResumeWhenItShrinks()
    {
        var agent = _fleet.StartAgent("a1", serverNumber: 1, extraArgs: ["--maxStateBytes", $"{MiB}"]);
        var (id, port, pid) = await StartCounterAsync();
        var committed = await _counter.CommitAboveAsync(port, 0, "the counter's state is committed");

        await _counter.WaitForInstanceAsync(i => CounterFleet.IdOf(i) == id && CounterFleet.StateVersionOf(i) >= committed, $"the aggregator reports version {committed}");

        var stateDirectory = _counter.StateDirectoryOf("a1", id);
        var bulk = Path.Combine(stateDirectory, "bulk.bin");
        await Fleet.WriteStateFileAsync(stateDirectory, "bulk.bin", new byte[2 * MiB]);
        var count = await _counter.PostAsync(port); // the state changed: there is something to commit

        var (refused, answer) = await _counter.CommitAsync(port);
        Assert.Null(refused);
        output.WriteLine($"Commit with 2 MiB in the state directory: {answer}");
        await Fleet.WaitUntilAsync(
            () => Task.FromResult(agent.Output.Contains($"over maxStateBytes = {MiB}", StringComparison.Ordinal)),
            CounterFleet.Timeout,
            "the agent logs the refusal naming maxStateBytes",
            () => Task.FromResult(agent.Output));
        Assert.Contains(id, agent.Output, StringComparison.Ordinal);

        // The instance was neither replaced nor left frozen: the same process answers.
        Assert.Equal(count + 1, await _counter.PostAsync(port));
        var still = await _counter.WaitForInstanceAsync(i => CounterFleet.IdOf(i) == id, "the aggregator still shows the instance");
        Assert.True(CounterFleet.Running(still), $"the instance is not running: {still}");
        Assert.Equal(pid, still.GetProperty("pid").GetInt32());
        Assert.Equal(committed, CounterFleet.StateVersionOf(still));

        File.Delete(bulk);
        var resumed = await _counter.CommitAboveAsync(port, committed, "a commit succeeds once the file is gone");
        await _counter.WaitForInstanceAsync(i => CounterFleet.IdOf(i) == id && CounterFleet.StateVersionOf(i) >= resumed, $"the aggregator reports version {resumed}");
        Assert.Equal(pid, (await _counter.WaitForInstanceAsync(i => CounterFleet.IdOf(i) == id, "the instance")).GetProperty("pid").GetInt32());
    }

    [Fact]
    public async Task UnixSocketInStateDirectory_IsLeftOutWithOneWarningNamingIt_CommitsGoOn()
    {
        var agent = _fleet.StartAgent("a1", serverNumber: 1);
        var (id, port, _) = await StartCounterAsync();
        var version = await _counter.CommitAboveAsync(port, 0, "the counter's state is committed");

        // Bound where the path is short (a socket path is limited to 108 bytes), then moved in: the
        // state directory holds a live listening socket.
        var name = "live.sock";
        var shortPath = Path.Combine(Path.GetTempPath(), $"drover-{Guid.NewGuid():N}"[..15] + ".sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(shortPath));
        listener.Listen();
        File.Move(shortPath, Path.Combine(_counter.StateDirectoryOf("a1", id), name));

        for (var round = 1; round <= 3; round++)
        {
            await _counter.PostAsync(port);
            version = await _counter.CommitAboveAsync(port, version, $"commit {round} with a socket in the state directory succeeds");
            await _counter.WaitForInstanceAsync(i => CounterFleet.IdOf(i) == id && CounterFleet.StateVersionOf(i) >= version, $"the aggregator reports version {version}");
        }

        var warnings = Skipped().Matches(agent.Output).Where(m => m.Groups["path"].Value == name).ToArray();
        Assert.True(warnings.Length == 1, $"expected one warning naming '{name}', got {warnings.Length}:{Environment.NewLine}{agent.Output}");
        Assert.Contains(id, warnings[0].Value, StringComparison.Ordinal);
        Assert.Contains("is a socket", warnings[0].Value, StringComparison.Ordinal);
    }

    private async Task<(string Id, int Port, int Pid)> StartCounterAsync()
    {
        await _fleet.WaitForAliveCountAsync(1, CounterFleet.Timeout);
        await _counter.DeployAsync(commitIntervalSeconds: 1);
        var instance = await _counter.WaitForInstanceAsync(CounterFleet.Running, "the counter runs");
        var port = instance.GetProperty("port").GetInt32();
        Assert.Equal(1, await _counter.PostWhenUpAsync(port));
        return (CounterFleet.IdOf(instance), port, instance.GetProperty("pid").GetInt32());
    }

    [GeneratedRegex(@"Instance '[^']+' state: '(?<path>[^']+)' is a \w+, which a snapshot cannot carry[^\r\n]*")]
    private static partial Regex Skipped();
}
