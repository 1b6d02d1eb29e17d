using System.Diagnostics;
using System.Globalization;

namespace Drover.FleetSim;

/// <summary>
/// The real drover-aggregator, started from the build output on free loopback ports with its data, log and
/// certificates in the run's folder; restartable with the same data. Its CPU time and resident memory are read
/// from /proc, apart from the simulator's own. Several (issue 21) share the run's link CA and API tokens, and
/// their state in one PostgreSQL database; each keeps its own folder, ports and log.
/// </summary>
internal sealed class AggregatorProcess : IAsyncDisposable
{
    private readonly string _executable;
    private static readonly Lock PortsGate = new();
    private static readonly HashSet<int> HandedOut = [];

    private readonly string _folder;
    private readonly string _shared;
    private readonly bool _tls;
    private readonly int _agents;
    private readonly string? _postgresConnectionFile;
    private Process? _process;

    /// <param name="outFolder">The build output holding drover-aggregator.</param>
    /// <param name="folder">This aggregator's folder: its data and log.</param>
    /// <param name="sharedFolder">The link CA and the API tokens, shared by every aggregator of the run (<paramref name="folder"/> for one).</param>
    /// <param name="tls">Mutual TLS on the link.</param>
    /// <param name="agents">The simulated agents, which the aggregator must take at once.</param>
    /// <param name="postgresConnectionFile">With several aggregators, the file holding their database's connection string; null: SQLite in the data folder.</param>
    public AggregatorProcess(string outFolder, string folder, string sharedFolder, bool tls, int agents, string? postgresConnectionFile = null)
    {
        _executable = Path.GetFullPath(Path.Combine(outFolder, "drover-aggregator"));
        _folder = folder;
        _shared = sharedFolder;
        _tls = tls;
        _agents = agents;
        _postgresConnectionFile = postgresConnectionFile;
        HttpPort = FreePort();
        LinkPort = FreePort();
    }

    public int HttpPort { get; }

    public int LinkPort { get; }

    public string CertificateFolder => Path.Combine(_shared, "certs");

    public string LogFile => Path.Combine(_folder, "aggregator", "aggregator.log");

    public string LinkAddress => $"{(_tls ? "https" : "http")}://127.0.0.1:{LinkPort}";

    public int Pid => _process?.Id ?? 0;

    /// <summary>The exit code once the process has ended on its own or been stopped; null while it runs (or before its start).</summary>
    public int? ExitCode => _process is { HasExited: true } process ? process.ExitCode : null;

    /// <summary>A read token for the management API, made before the first start.</summary>
    public string ReadToken { get; private set; } = "";

    /// <summary>
    /// Makes the link CA (when TLS is on) and a read token; run once before <see cref="StartAsync"/>. With several
    /// aggregators, on the first only: the others take what it made with <see cref="ShareFrom"/>.
    /// </summary>
    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.Combine(_folder, "aggregator"));
        Directory.CreateDirectory(Path.Combine(_shared, "aggregator"));
        if (_tls)
        {
            await RunToolAsync(cancellationToken, "certs", "init", "--dir", CertificateFolder);
        }

        ReadToken = (await RunToolAsync(cancellationToken, "tokens", "add", "--name", "fleetsim", "--role", "read", "--file", TokensFile)).Trim();
    }

    /// <summary>Takes the link CA and the read token <paramref name="prepared"/> made (the same shared folder), in place of <see cref="PrepareAsync"/>.</summary>
    public void ShareFrom(AggregatorProcess prepared)
    {
        Directory.CreateDirectory(Path.Combine(_folder, "aggregator"));
        ReadToken = prepared.ReadToken;
    }

    /// <summary>Starts the aggregator and waits (up to a minute) until its API answers.</summary>
    public async Task StartAsync(FleetApi api, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(_executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in Arguments())
        {
            start.ArgumentList.Add(argument);
        }

        _process?.Dispose(); // the one before a restart, ended by StopAsync
        _process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {_executable}");
        // A simulator ended by Ctrl-C or SIGTERM takes its aggregator with it (one killed outright cannot).
        var started = _process;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => ChildProcess.KillQuietly(started);
        // One file per stream: two writers appending to one file would write over each other.
        var console = Path.Combine(_folder, "aggregator.console.log");
        _ = ChildProcess.DrainAsync(_process.StandardOutput, console);
        _ = ChildProcess.DrainAsync(_process.StandardError, Path.Combine(_folder, "aggregator.stderr.log"));

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromMinutes(1))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"drover-aggregator ended with code {_process.ExitCode} at start; see {console}, aggregator.stderr.log beside it and {LogFile}");
            }

            if (await api.ReadyAsync(cancellationToken))
            {
                return;
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new TimeoutException("drover-aggregator's API did not answer within a minute of its start");
    }

    /// <summary>Ends the aggregator with <paramref name="signal"/> ("kill" or "term") and waits for it.</summary>
    public async Task StopAsync(string signal)
    {
        if (_process is null || _process.HasExited)
        {
            return;
        }

        if (signal == "kill")
        {
            _process.Kill();
        }
        else
        {
            Posix.Terminate(_process.Id);
        }

        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
            await _process.WaitForExitAsync(CancellationToken.None);
        }
    }

    /// <summary>CPU time (user + system) the aggregator has used.</summary>
    public TimeSpan CpuTime() => _process is null ? TimeSpan.Zero : ProcStat.CpuTime(_process);

    /// <summary>The aggregator's resident memory now.</summary>
    public long ResidentBytes() => _process is null ? 0 : ProcStat.ResidentBytes(_process);

    public async ValueTask DisposeAsync()
    {
        await StopAsync("term");
        _process?.Dispose();
    }

    private string TokensFile => Path.Combine(_shared, "aggregator", "api-tokens.json");

    private IEnumerable<string> Arguments()
    {
        string[] common =
        [
            "--httpPort", HttpPort.ToString(CultureInfo.InvariantCulture),
            "--linkPort", LinkPort.ToString(CultureInfo.InvariantCulture),
            "--dataDirectory", Path.Combine(_folder, "aggregator", "data"),
            "--logFile", LogFile,
            "--apiTokensFile", TokensFile,
            // Room for every simulated agent and a few more; the defaults (10,000) when that is enough.
            "--linkMaxConnections", Math.Max(10_000, _agents + 64).ToString(CultureInfo.InvariantCulture),
        ];
        string[] link = _tls
            ? ["--linkCertificateFile", Path.Combine(CertificateFolder, "aggregator.crt"), "--linkKeyFile", Path.Combine(CertificateFolder, "aggregator.key"), "--linkCaFile", Path.Combine(CertificateFolder, "ca.crt")]
            : ["--insecure", "true"];
        string[] store = _postgresConnectionFile is null ? [] : ["--store", "postgres", "--postgresConnectionStringFile", _postgresConnectionFile];
        return [.. common, .. link, .. store];
    }

    private async Task<string> RunToolAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        var start = new ProcessStartInfo(_executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {_executable}");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return process.ExitCode == 0
            ? await output
            : throw new InvalidOperationException($"drover-aggregator {string.Join(' ', arguments)} failed ({process.ExitCode}): {await error}");
    }


    /// <summary>A loopback port free now, never one handed out before in this run (the kernel may offer a closed one again).</summary>
    public static int FreePort()
    {
        while (true)
        {
            using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            listener.Start();
            var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
            lock (PortsGate)
            {
                if (HandedOut.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
