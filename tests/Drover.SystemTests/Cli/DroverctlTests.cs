using System.Diagnostics;
using System.Text.Json;
using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Cli;

/// <summary>
/// The built droverctl (<c>out/droverctl</c>, left by <c>make build</c>) run as a process against a real aggregator and
/// agent: what it shows, what it applies and drains, and the exit codes scripts rely on.
/// </summary>
public sealed class DroverctlTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);

    private readonly Fleet _fleet = new(output);

    /// <summary>droverctl's HOME: empty, so no operator's config file is read.</summary>
    private string Home => Path.Combine(_fleet.Directory, "home");

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(Home);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _fleet.DisposeAsync();

    [Fact]
    public async Task Droverctl_RealFleet_ShowsAppliesAndDrains()
    {
        _fleet.StartAggregator();
        await _fleet.WaitForAggregatorAsync();
        _fleet.StartAgent("a1", serverNumber: 1, gpus: new GpuScenario(2));
        await _fleet.WaitForAliveCountAsync(1, Timeout);
        var nodeId = _fleet.NodeIdOf("a1");
        var read = new Dictionary<string, string> { ["DROVER_URL"] = Url, ["DROVER_TOKEN"] = _fleet.ReadToken };

        var nodes = await RunAsync(read, "nodes");
        Assert.True(nodes.Code == 0, nodes.ToString());
        Assert.Matches($@"{nodeId}\s+c1\s+1\s+\S+\s+alive\s+yes", nodes.Out);

        var clusters = await RunAsync(read, "clusters");
        Assert.True(clusters.Code == 0, clusters.ToString());
        Assert.Matches(@"c1\s+healthy\s+1/1", clusters.Out);

        // The GPUs come with the agent's first telemetry, a moment after it is alive.
        await Fleet.WaitUntilAsync(async () => (await _fleet.GpusAsync(nodeId)).Length == 2, Timeout, "the node's two GPUs are reported");
        var gpus = await RunAsync(read, "gpus");
        Assert.True(gpus.Code == 0, gpus.ToString());
        Assert.Equal(2, gpus.Out.Split('\n').Count(l => l.StartsWith(nodeId, StringComparison.Ordinal)));

        var json = await RunAsync(read, "-o", "json", "nodes");
        Assert.True(json.Code == 0, json.ToString());
        var node = Assert.Single(JsonDocument.Parse(json.Out).RootElement.EnumerateArray());
        Assert.Equal(nodeId, node.GetProperty("nodeId").GetString());
        Assert.Equal("alive", node.GetProperty("survival").GetString());

        // apply with the admin token from the flag (it wins over DROVER_TOKEN's read token), then the function.
        var file = Path.Combine(_fleet.Directory, "counter.yaml");
        await File.WriteAllTextAsync(file, $"""
            kind: function
            name: counter
            spec:
              version: "1"
              runtime:
                type: process
                command: {Repository.Counter}
              public: true
              slo: 2
              commitIntervalSeconds: 0
            """);
        var apply = await RunAsync(read, "--token", _fleet.AdminToken, "apply", "-f", file);
        Assert.True(apply.Code == 0, apply.ToString());
        Assert.Equal("function/counter created", apply.Out.Trim());

        await Fleet.WaitUntilAsync(
            async () => await RunAsync(read, "-o", "json", "function", "counter") is { Code: 0 } shown
                && JsonDocument.Parse(shown.Out).RootElement.GetProperty("function").GetProperty("instances").EnumerateArray().Any(i => i.GetProperty("state").GetString() == "running" && i.GetProperty("ready").GetBoolean()),
            Timeout,
            "droverctl function counter shows a running, ready instance");
        var function = await RunAsync(read, "function", "counter");
        Assert.True(function.Code == 0, function.ToString());
        Assert.Contains(Repository.Counter, function.Out, StringComparison.Ordinal);
        Assert.Matches($@"\S+\s+{nodeId}\s+running\s+yes", function.Out);

        // A read token may not drain: 403, exit 4; the admin token may.
        var refused = await RunAsync(read, "drain", nodeId);
        Assert.True(refused.Code == 4, refused.ToString());
        Assert.Contains("403", refused.Error, StringComparison.Ordinal);
        var drain = await RunAsync(read, "--token", _fleet.AdminToken, "drain", nodeId);
        Assert.True(drain.Code == 0, drain.ToString());
        await _fleet.WaitForSurvivalAsync(nodeId, "draining", Timeout);

        var wrongToken = await RunAsync(new() { ["DROVER_URL"] = Url, ["DROVER_TOKEN"] = Fleet.NewToken() }, "nodes");
        Assert.True(wrongToken.Code == 4, wrongToken.ToString());
        Assert.Contains("refused the token from DROVER_TOKEN", wrongToken.Error, StringComparison.Ordinal);

        var missing = await RunAsync(read, "function", "nobody-defined-this");
        Assert.True(missing.Code == 5, missing.ToString());
    }

    [Fact]
    public async Task Droverctl_UnreachableUrl_Exits3NamingIt()
    {
        var url = $"http://127.0.0.1:{ClosedPort()}";

        var result = await RunAsync(new() { ["DROVER_URL"] = url }, "nodes");

        Assert.True(result.Code == 3, result.ToString());
        Assert.Contains($"cannot reach the aggregator at {url}/", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Droverctl_Certs_RunsTheAggregatorsCommandFromTheBuildTree()
    {
        var certs = Path.Combine(_fleet.Directory, "certs");

        var init = await RunAsync([], "certs", "init", "--dir", certs);
        var bad = await RunAsync([], "certs", "issue", "--dir", certs);

        Assert.True(init.Code == 0, init.ToString());
        Assert.True(File.Exists(Path.Combine(certs, "ca.crt")));
        Assert.True(bad.Code == 64, bad.ToString());
    }

    [Fact]
    public async Task Droverctl_BashCompletion_CompletesFromTheBinary()
    {
        var script = $$"""
            eval "$('{{Program}}' completion bash)"
            COMP_WORDS=('{{Program}}' clu); COMP_CWORD=1; COMP_LINE="droverctl clu"; COMP_POINT=13
            _droverctl; echo "${COMPREPLY[*]}"
            COMP_WORDS=('{{Program}}' nodes -o ''); COMP_CWORD=3; COMP_LINE="droverctl nodes -o "; COMP_POINT=19
            _droverctl; echo "${COMPREPLY[*]}"
            """;
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        using var bash = Process.Start(info)!;
        await bash.StandardInput.WriteAsync(script);
        bash.StandardInput.Close();
        var stdout = bash.StandardOutput.ReadToEndAsync();
        var stderr = bash.StandardError.ReadToEndAsync();
        await bash.WaitForExitAsync().WaitAsync(Timeout);

        Assert.True(bash.ExitCode == 0, await stderr);
        Assert.Equal("clusters\njson table\n", await stdout);
    }

    private string Url => $"http://127.0.0.1:{_fleet.HttpPort}";

    private static string Program
    {
        get
        {
            var path = Path.Combine(Repository.Out, "droverctl");
            return File.Exists(path)
                ? path
                : throw new InvalidOperationException($"'{path}' does not exist: the system tests run the built programs; run 'make build' (or 'make test') first.");
        }
    }

    /// <summary>Runs out/droverctl with only <paramref name="environment"/> of droverctl's own variables set.</summary>
    private async Task<Result> RunAsync(Dictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo(Program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var name in new[] { "DROVER_URL", "DROVER_TOKEN", "XDG_CONFIG_HOME", "NO_COLOR" })
        {
            info.Environment.Remove(name);
        }

        info.Environment["HOME"] = Home;
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Timeout);
        var result = new Result(process.ExitCode, await stdout, await stderr);
        output.WriteLine($"droverctl {string.Join(' ', args)}: {result}");
        return result;
    }

    /// <summary>A loopback port nothing listens on (handed out once in this run).</summary>
    private static int ClosedPort() => Drover.Testing.Ports.Free();

    private sealed record Result(int Code, string Out, string Error)
    {
        public override string ToString() => $"exit {Code}\n{Out}{Error}";
    }
}
