using System.Net.Http.Json;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Instances;

/// <summary>
/// Issue 14, what an agent may run: an aggregator (or an impostor of one) asks a real agent to run a
/// command outside its runtime allowlist, or with protected variables; each start is refused with
/// the command or the variable named, the agent stays up and nothing runs. And a runtime with a
/// user runs its instance as that user.
/// </summary>
[Trait("Category", "Attacks")]
public sealed class RuntimeAttackTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly Fleet _fleet = new(output);
    private ChildProcess? _aggregator;

    public async Task InitializeAsync()
    {
        _aggregator = _fleet.StartAggregator();
        await _fleet.WaitForAggregatorAsync();
    }

    public async Task DisposeAsync() => await _fleet.DisposeAsync();

    public static TheoryData<string> Attacks => new() { "outside", "symlink-out", "dotdot", "relative", "LD_PRELOAD", "PATH" };

    [Theory]
    [MemberData(nameof(Attacks))]
    public async Task StartInstance_OutsideTheAllowlistOrProtectedVariable_RefusedNamingItAgentUpNothingRuns(string attack)
    {
        // The agent's allowlist: the samples, /bin/sh, and <fleet>/allowed, which holds a link pointing out.
        var allowed = Path.Combine(_fleet.Directory, "allowed");
        Directory.CreateDirectory(allowed);
        File.CreateSymbolicLink(Path.Combine(allowed, "escape"), "/usr/bin/env");
        var agent = _fleet.StartAgent("a1", serverNumber: 1, extraArgs: Fleet.RuntimeArgs(Fleet.FirstFreeRuntime, allowed));
        await _fleet.WaitForAliveCountAsync(1, Timeout);

        var (command, env, named) = attack switch
        {
            "outside" => ("/usr/bin/env", new Dictionary<string, string>(), "'/usr/bin/env'"),
            "symlink-out" => (Path.Combine(allowed, "escape"), [], $"'{Path.Combine(allowed, "escape")}'"),
            "dotdot" => ($"{allowed}/../../../../../usr/bin/env", [], "without . or .. segments"),
            "relative" => ("env", [], "expected an absolute path"),
            _ => (Repository.Counter, new Dictionary<string, string> { [attack] = "/tmp/evil" }, $"'{attack}' is protected"),
        };
        using var response = await _fleet.Http.PutAsJsonAsync("/v1/functions/attack", new { runtime = new { type = "process", command, env } });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());

        // The agent answers the StartInstance with the refusal (the aggregator logs the command's
        // failure) and reports the instance failed with it.
        JsonElement[] instances = [];
        await Fleet.WaitUntilAsync(
            async () =>
            {
                instances = await _fleet.Http.GetFromJsonAsync<JsonElement[]>("/v1/functions/attack/instances") ?? [];
                return instances.Any(i => i.GetProperty("state").GetString() == "failed")
                    && _aggregator!.Output.Contains("did not carry out command", StringComparison.Ordinal);
            },
            Timeout,
            "the instance is reported failed and the command's failure logged",
            () => Task.FromResult(agent.Output));
        var reason = instances.First(i => i.GetProperty("state").GetString() == "failed").GetProperty("reason").GetString()!;
        output.WriteLine(reason);
        Assert.Contains("refused by the runtime allowlist", reason, StringComparison.Ordinal);
        Assert.Contains(named, reason, StringComparison.Ordinal);
        var refusal = _aggregator!.Output.Split('\n').First(l => l.Contains("did not carry out command", StringComparison.Ordinal));
        Assert.Contains(named, refusal, StringComparison.Ordinal);
        Assert.Contains($"refused by the runtime allowlist", agent.Output, StringComparison.Ordinal);
        Assert.Contains($"with command '{command}'", agent.Output, StringComparison.Ordinal);
        Assert.False(agent.HasExited);
        Assert.Empty(_fleet.InstancePids());
        Assert.DoesNotContain(instances, i => i.GetProperty("state").GetString() == "running");
    }

    [RootFact]
    public async Task StartInstance_RuntimeWithUser_InstanceRunsAsThatUserOwningItsState()
    {
        var port = Ports.Free();
        var agent = _fleet.StartAgent("a1", serverNumber: 1, port: port, extraArgs: ["--runtimes:0:user", "nobody"]);
        await _fleet.WaitForAliveCountAsync(1, Timeout);
        using var response = await _fleet.Http.PutAsJsonAsync("/v1/functions/counter", new { runtime = new { type = "process", command = Repository.Counter }, @public = true });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());

        JsonElement instance = default;
        await Fleet.WaitUntilAsync(
            async () =>
            {
                var running = (await _fleet.Http.GetFromJsonAsync<JsonElement[]>("/v1/functions/counter/instances") ?? [])
                    .Where(i => i.GetProperty("state").GetString() == "running" && i.GetProperty("pid").GetInt32() > 0 && i.GetProperty("ready").GetBoolean()).ToArray();
                instance = running.FirstOrDefault();
                return running.Length > 0;
            },
            Timeout,
            "the counter runs and is ready",
            () => Task.FromResult(agent.Output));

        // The counter answers (it reached its state directory and registered on the local socket) ...
        using var http = new HttpClient { Timeout = Timeout };
        using var invoke = await http.PostAsync($"http://127.0.0.1:{port}/v1/invoke/counter", null);
        Assert.True(invoke.IsSuccessStatusCode, await invoke.Content.ReadAsStringAsync());

        // ... as nobody, whose state directory it is.
        var pid = instance.GetProperty("pid").GetInt32();
        var uids = File.ReadAllLines($"/proc/{pid}/status").Single(l => l.StartsWith("Uid:", StringComparison.Ordinal));
        output.WriteLine(uids);
        Assert.Equal(["65534", "65534", "65534", "65534"], uids.Split('\t', StringSplitOptions.RemoveEmptyEntries).Skip(1));
        var state = Path.Combine(_fleet.Directory, "agents", "a1", "state", "instances", instance.GetProperty("instanceId").GetString()!, "state");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(state));
        Assert.Equal(65534, OwnerOf(state));
        Assert.False(agent.HasExited);
    }

    private static int OwnerOf(string path)
    {
        // stat(1) rather than a P/Invoke: the test project has no native interop of its own.
        var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/usr/bin/stat", ["-c", "%u", path]) { RedirectStandardOutput = true })!;
        var owner = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        return int.Parse(owner, System.Globalization.CultureInfo.InvariantCulture);
    }
}
