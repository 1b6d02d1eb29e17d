using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Drover.SystemTests.Infrastructure;

/// <summary>
/// One test's fleet: a real aggregator and real agents on loopback ports, each in its own folder
/// under a temporary directory, all killed when the test ends. Logs are kept on failure and their
/// folder is written to the test output. The aggregator reads a tokens file holding
/// <see cref="AdminToken"/> and <see cref="ReadToken"/>; <see cref="Http"/> sends the admin token.
/// </summary>
internal sealed class Fleet : IAsyncDisposable
{
    private readonly ITestOutputHelper _output;
    private readonly List<ChildProcess> _processes = [];
    private readonly Dictionary<string, ChildProcess> _agents = new(StringComparer.Ordinal);

    /// <param name="output">The test's output.</param>
    /// <param name="linkTls">
    /// Whether the link is mutual TLS, with a CA, the aggregator's certificate and one per agent (named
    /// after it, so its node id is its name) made by <c>drover-aggregator certs</c> under <c>certs/</c>;
    /// else plain text (<c>insecure: true</c>), as most tests, which are about something else, run it.
    /// </param>
    public Fleet(ITestOutputHelper output, bool linkTls = false)
    {
        _output = output;
        LinkTls = linkTls;
        Directory = Path.Combine(Path.GetTempPath(), "drover-systemtests", $"{DateTime.UtcNow:HHmmss}-{Guid.NewGuid():N}"[..20]);
        System.IO.Directory.CreateDirectory(Directory);
        if (RuntimeUser is not null)
        {
            // The instances' user must reach its state directory and the agent's socket through these folders.
            for (var dir = Directory; dir != Path.GetTempPath().TrimEnd('/'); dir = Path.GetDirectoryName(dir)!)
            {
                File.SetUnixFileMode(dir, File.GetUnixFileMode(dir) | UnixFileMode.OtherExecute);
            }
        }

        HttpPort = Ports.Free();
        LinkPort = Ports.Free();
        Http = ClientWith(AdminToken);
        TokensFile = Path.Combine(Directory, "api-tokens.json");
        WriteTokensFile(TokensFile, ("fleet-admin", "admin", AdminToken), ("fleet-read", "read", ReadToken));
        _output.WriteLine($"Fleet folder: {Directory}");
    }

    /// <summary>A token of role admin in the aggregator's tokens file (what <see cref="Http"/> sends).</summary>
    public string AdminToken { get; } = NewToken();

    /// <summary>A token of role read in the aggregator's tokens file.</summary>
    public string ReadToken { get; } = NewToken();

    /// <summary>The tokens file the aggregator is started with (<c>--apiTokensFile</c>).</summary>
    public string TokensFile { get; }

    public string Directory { get; }

    public int HttpPort { get; private set; }

    public int LinkPort { get; private set; }

    public bool LinkTls { get; }

    public string LinkAddress => $"{(LinkTls ? "https" : "http")}://127.0.0.1:{LinkPort}";

    /// <summary>Where a TLS fleet keeps its certificates (the CA's, the aggregator's, one per agent).</summary>
    public string CertificateDirectory => Path.Combine(Directory, "certs");

    public HttpClient Http { get; private set; }

    /// <summary>
    /// Starts the aggregator and waits until it answers. Ports are picked free but could be taken by
    /// another process before the aggregator binds them: on a first start that loses that race, it
    /// tries again on other ports (a restart keeps its ports, which the agents know).
    /// </summary>
    public ChildProcess StartAggregator(params string[] extraArgs)
    {
        for (var attempt = 1; ; attempt++)
        {
            var aggregator = StartAggregatorAt("aggregator", HttpPort, LinkPort, extraArgs);
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(60) && !aggregator.HasExited && !Answers())
            {
                Thread.Sleep(25);
            }

            if (!aggregator.HasExited || attempt == 5 || _agents.Count > 0 || !aggregator.Output.Contains("address already in use", StringComparison.Ordinal))
            {
                return aggregator;
            }

            _output.WriteLine($"Ports {HttpPort}/{LinkPort} were taken before the aggregator bound them; trying others.");
            HttpPort = Ports.Free();
            LinkPort = Ports.Free();
            Http.Dispose();
            Http = ClientWith(AdminToken);
        }
    }

    /// <summary>
    /// Starts an aggregator in <c>&lt;fleet&gt;/<paramref name="name"/></c> on the given ports, with the fleet's tokens and
    /// link certificates, and returns at once: one of several aggregators on one PostgreSQL, beside the one of
    /// <see cref="StartAggregator"/>.
    /// </summary>
    public ChildProcess StartAggregatorAt(string name, int httpPort, int linkPort, params string[] extraArgs)
        => StartAggregatorAt(name, httpPort, linkPort, null, extraArgs);

    /// <summary>As <see cref="StartAggregatorAt(string, int, int, string[])"/>, with variables added to its environment (systemd's, say).</summary>
    public ChildProcess StartAggregatorAt(string name, int httpPort, int linkPort, IDictionary<string, string>? environment, params string[] extraArgs)
    {
        var dir = Path.Combine(Directory, name);
        System.IO.Directory.CreateDirectory(dir);
        string[] args =
        [
            "--httpPort", Invariant(httpPort),
            "--linkPort", Invariant(linkPort),
            "--dataDirectory", Path.Combine(dir, "data"),
            "--logFile", Path.Combine(dir, "aggregator.log"),
            .. LinkArgs(CertificateAuthority.ServerName),
            "--apiTokensFile", TokensFile,
            "--apiRequestsPerMinute", "0", // tests poll every 25 ms, and several loops at once
            .. extraArgs,
        ];
        return Track(ChildProcess.Start(Repository.Aggregator, args, Path.Combine(dir, "console.log"), environment));
    }

    /// <summary>A client of the aggregator's HTTP port sending <paramref name="token"/> as its bearer token, or no Authorization header when null.</summary>
    public HttpClient ClientWith(string? token)
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{HttpPort}"), Timeout = TimeSpan.FromSeconds(5) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    /// <summary>A random token in the shape <c>drover-aggregator tokens add</c> prints.</summary>
    public static string NewToken() => "drv_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>
    /// Writes a tokens file as README documents it (the SHA-256 of each token, mode 0600), written here
    /// rather than through the aggregator's CLI so each fleet starts without an extra process.
    /// </summary>
    public static void WriteTokensFile(string path, params (string Name, string Role, string Token)[] tokens)
    {
        var entries = tokens.Select(t => new { name = t.Name, role = t.Role, sha256 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(t.Token))) });
        File.WriteAllText(path, JsonSerializer.Serialize(new { tokens = entries }));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    private bool Answers()
    {
        try
        {
            // A 401 is an answer too: a test may start the aggregator with a tokens file of its own.
            using var response = Http.GetAsync("/v1/nodes").GetAwaiter().GetResult();
            return response.IsSuccessStatusCode || response.StatusCode == System.Net.HttpStatusCode.Unauthorized;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// The runtime allowlist every agent of the system tests gets: the samples `make build` left in
    /// ./out and /bin/sh (the tests' scripts), nothing else. A test that needs more entries passes
    /// <c>--runtimes:N:...</c> from N = <see cref="FirstFreeRuntime"/> in the agent's extra arguments.
    /// </summary>
    public static readonly string[] TestRuntimes = [Path.Combine(Repository.Out, "samples"), "/bin/sh"];

    /// <summary>The first runtimes index an agent's extra arguments may use.</summary>
    public static int FirstFreeRuntime => TestRuntimes.Length;

    /// <summary>
    /// The user every runtime entry names when the tests run as root (an agent running as root refuses
    /// an entry without one: instances never run as root); none otherwise, the instances running as the tests' user.
    /// </summary>
    public static string? RuntimeUser { get; } = Environment.UserName == "root" ? "nobody" : null;

    /// <summary>The agent arguments of runtime entry <paramref name="index"/> allowing <paramref name="path"/>, with <see cref="RuntimeUser"/>.</summary>
    public static string[] RuntimeArgs(int index, string path)
        => RuntimeUser is { } user
            ? [$"--runtimes:{index}:path", path, $"--runtimes:{index}:user", user]
            : [$"--runtimes:{index}:path", path];

    /// <summary>
    /// Starts an agent on the stand-in NVML with <paramref name="gpus"/> (one GPU when not given); the
    /// same <paramref name="name"/> reuses the same state directory (and so the same node id).
    /// </summary>
    public ChildProcess StartAgent(string name, int serverNumber, string cluster = "c1", int? port = null, IEnumerable<string>? aggregators = null, GpuScenario? gpus = null, params string[] extraArgs)
    {
        var dir = Path.Combine(Directory, "agents", name);
        System.IO.Directory.CreateDirectory(dir);
        var scenario = gpus ?? new GpuScenario(1);
        scenario.Save(Path.Combine(dir, "gpus.scenario"));
        var args = new List<string>
        {
            "--nvmlLibraryPath", Repository.FakeNvml,
            "--serverNumber", Invariant(serverNumber),
            "--port", Invariant(port ?? Ports.Free()),
            "--cluster", cluster,
            "--stateDirectory", Path.Combine(dir, "state"),
            "--logFile", Path.Combine(dir, "agent.log"),
            "--localSocketPath", Path.Combine(dir, "agent.sock"),
        };
        var i = 0;
        foreach (var address in aggregators ?? [LinkAddress])
        {
            args.AddRange([$"--aggregators:{i++}", address]);
        }

        args.AddRange(LinkArgs(name));
        for (var r = 0; r < TestRuntimes.Length; r++)
        {
            args.AddRange(RuntimeArgs(r, TestRuntimes[r]));
        }

        args.AddRange(extraArgs);
        var environment = new Dictionary<string, string> { ["DROVER_FAKE_NVML_SCENARIO"] = scenario.Path! };
        var agent = Track(ChildProcess.Start(Repository.Agent, args, Path.Combine(dir, "console.log"), environment));
        _agents[name] = agent;
        return agent;
    }

    /// <summary>
    /// The link's configuration for the aggregator (<paramref name="holder"/> <c>aggregator</c>) or an
    /// agent: its certificate, key and the CA, made on first use; or <c>insecure: true</c>.
    /// </summary>
    public string[] LinkArgs(string holder)
    {
        if (!LinkTls)
        {
            return ["--insecure", "true"];
        }

        var certificate = Path.Combine(CertificateDirectory, $"{holder}.crt");
        if (!File.Exists(Path.Combine(CertificateDirectory, CertificateAuthority.CaCertificateFile)))
        {
            Certs("init", "--dir", CertificateDirectory);
        }

        if (!File.Exists(certificate))
        {
            Certs("issue", "--dir", CertificateDirectory, "--node", holder);
        }

        return
        [
            "--linkCertificateFile", certificate,
            "--linkKeyFile", Path.Combine(CertificateDirectory, $"{holder}.key"),
            "--linkCaFile", Path.Combine(CertificateDirectory, CertificateAuthority.CaCertificateFile),
        ];
    }

    /// <summary>Runs <c>drover-aggregator certs ...</c> and fails with its output unless it succeeds.</summary>
    public string Certs(params string[] args)
    {
        using var certs = Process.Start(new ProcessStartInfo(Repository.Aggregator, ["certs", .. args]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = certs.StandardOutput.ReadToEnd() + certs.StandardError.ReadToEnd();
        certs.WaitForExit();
        Assert.True(certs.ExitCode == 0, $"drover-aggregator certs {string.Join(' ', args)} exited {certs.ExitCode}: {output}");
        return output;
    }

    /// <summary>The file names <c>drover-aggregator certs</c> writes.</summary>
    public static class CertificateAuthority
    {
        public const string ServerName = "aggregator";
        public const string CaCertificateFile = "ca.crt";
    }

    /// <summary>The process of the agent last started under <paramref name="name"/>.</summary>
    public ChildProcess AgentProcesses(string name) => _agents[name];

    /// <summary>
    /// <paramref name="agent"/>'s host lost: its agent SIGKILLed, and with it every instance process the agents' runtime
    /// files name (on this one machine, every node's).
    /// </summary>
    public void LoseHost(string agent)
    {
        var orphans = InstancePids().ToArray();
        AgentProcesses(agent).Kill();
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
    }

    /// <summary>A log file a running process writes (it may be rotated meanwhile); empty when it does not exist yet.</summary>
    public static string ReadLog(string path)
    {
        if (!File.Exists(path))
        {
            return "";
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// Puts <paramref name="content"/> into an instance's state directory as the instance itself would: written beside
    /// it and renamed in (no commit sees it half written), owned by the state directory's owner (an agent leaves a file
    /// of another user, this test's root included, out of every commit).
    /// </summary>
    public static async Task WriteStateFileAsync(string stateDirectory, string name, byte[] content)
    {
        var beside = Path.Combine(Path.GetDirectoryName(stateDirectory)!, $"{name}.test");
        await File.WriteAllBytesAsync(beside, content);
        using (var chown = Process.Start("chown", ["--reference", stateDirectory, beside]))
        {
            await chown.WaitForExitAsync();
            Assert.Equal(0, chown.ExitCode);
        }

        File.Move(beside, Path.Combine(stateDirectory, name));
    }

    public string NodeIdOf(string name)
        => File.ReadAllText(Path.Combine(Directory, "agents", name, "state", "node-id")).Trim();

    public async Task<JsonElement[]> NodesAsync()
        => await Http.GetFromJsonAsync<JsonElement[]>("/v1/nodes") ?? [];

    public async Task<JsonElement[]> GpusAsync(string nodeId)
        => await Http.GetFromJsonAsync<JsonElement[]>($"/v1/nodes/{nodeId}/gpus") ?? [];

    public async Task<JsonElement?> NodeAsync(string nodeId)
        => (await NodesAsync()).Cast<JsonElement?>().FirstOrDefault(n => n!.Value.GetProperty("nodeId").GetString() == nodeId);

    /// <summary>Polls until <paramref name="condition"/> holds; fails with <paramref name="what"/> and the last state after <paramref name="timeout"/>.</summary>
    public static async Task<TimeSpan> WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, Func<Task<string>>? describe = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return clock.Elapsed;
                }
            }
            catch (HttpRequestException)
            {
                // The aggregator is not listening yet.
            }

            if (clock.Elapsed > timeout)
            {
                var state = describe is null ? "" : $" Last state: {await describe()}";
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting until {what}.{state}");
            }

            await Task.Delay(25);
        }
    }

    public Task<TimeSpan> WaitForAggregatorAsync()
        => WaitUntilAsync(async () => (await Http.GetAsync("/v1/nodes")).IsSuccessStatusCode, TimeSpan.FromSeconds(30), "the aggregator answers");

    public Task<TimeSpan> WaitForSurvivalAsync(string nodeId, string survival, TimeSpan timeout)
        => WaitUntilAsync(
            async () => (await NodeAsync(nodeId))?.GetProperty("survival").GetString() == survival,
            timeout,
            $"node '{nodeId}' is '{survival}'",
            async () => JsonSerializer.Serialize(await NodesAsync()));

    public async Task WaitForAliveCountAsync(int count, TimeSpan timeout)
        => await WaitUntilAsync(
            async () => (await NodesAsync()).Count(n => n.GetProperty("survival").GetString() == "alive") == count,
            timeout,
            $"{count} nodes are alive",
            async () => JsonSerializer.Serialize(await NodesAsync()));

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }

        // Instances outlive their agent by design (and a SIGKILLed agent's are orphans): kill them by their recorded pids.
        foreach (var pid in InstancePids())
        {
            try
            {
                using var instance = Process.GetProcessById(pid);
                instance.Kill();
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
            }
        }

        Http.Dispose();
    }

    /// <summary>The pids recorded in every agent's instance runtime files.</summary>
    public IEnumerable<int> InstancePids()
    {
        var agents = Path.Combine(Directory, "agents");
        if (!System.IO.Directory.Exists(agents))
        {
            return [];
        }

        return System.IO.Directory.EnumerateFiles(agents, "runtime.json", SearchOption.AllDirectories)
            .Select(file =>
            {
                try
                {
                    return JsonDocument.Parse(File.ReadAllText(file)).RootElement.GetProperty("Pid").GetInt32();
                }
                catch (Exception ex) when (ex is IOException or JsonException or KeyNotFoundException)
                {
                    return 0;
                }
            })
            .Where(pid => pid > 0)
            .ToArray();
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private ChildProcess Track(ChildProcess process)
    {
        _processes.Add(process);
        return process;
    }
}
