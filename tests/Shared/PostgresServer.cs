using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Drover.Testing;

/// <summary>
/// A real PostgreSQL for a test run: Debian's server binaries (<c>/usr/lib/postgresql/&lt;version&gt;/bin</c>, the newest
/// installed), a cluster made by <c>initdb</c> in a fresh temp directory, <c>postgres</c> listening on a free loopback
/// port only (no Unix socket), password authentication (SCRAM) for one superuser, and on dispose a fast shutdown
/// (SIGINT, then SIGKILL of the tree after 10 s) and the directory removed; <see cref="RestartAsync"/> stops it and
/// starts it again on the same cluster and port. Under root both run as <c>nobody</c>, since initdb and postgres
/// refuse root, with the directory handed to that user; otherwise as the user running the tests.
/// Durability is off (<c>fsync=off</c>): the tests check what the store promises to write, not the disk under PostgreSQL.
/// </summary>
internal sealed class PostgresServer : IAsyncDisposable
{
    public const string Superuser = "drover";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(10);

    private readonly StringBuilder _output = new();
    private readonly string _bin;
    private readonly RunAs? _user;
    private Process _process;

    private PostgresServer(string directory, int port, string password, string bin, RunAs? user)
    {
        Directory = directory;
        Port = port;
        Password = password;
        _bin = bin;
        _user = user;
        _process = Launch();
    }

    /// <summary>
    /// Why PostgreSQL cannot be run here, or null when it can: its server binaries are not installed (<c>make
    /// test-tools</c> installs them where apt-get can, as root). What a test skips with.
    /// </summary>
    public static string? MissingReason { get; } = FindBinaries() is null
        ? "PostgreSQL is not installed (no /usr/lib/postgresql/<version>/bin/initdb and postgres) and could not be: `make test-tools` installs it as root (apt-get install postgresql); on a Debian or Ubuntu machine run `sudo apt-get install postgresql`."
        : null;

    /// <summary>The temp directory holding the cluster (<c>data/</c>).</summary>
    public string Directory { get; }

    public int Port { get; }

    public string Password { get; }

    public int Pid => _process.Id;

    /// <summary>What postgres logged so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The newest installed server's bin directory, or null.</summary>
    public static string? FindBinaries()
    {
        const string Root = "/usr/lib/postgresql";
        if (!System.IO.Directory.Exists(Root))
        {
            return null;
        }

        return System.IO.Directory.GetDirectories(Root)
            .Select(dir => (Dir: Path.Combine(dir, "bin"), Version: double.TryParse(Path.GetFileName(dir), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : 0))
            .Where(c => File.Exists(Path.Combine(c.Dir, "initdb")) && File.Exists(Path.Combine(c.Dir, "postgres")))
            .OrderByDescending(c => c.Version)
            .Select(c => c.Dir)
            .FirstOrDefault();
    }

    /// <summary>The connection string of <paramref name="database"/> as the superuser; no pooling, so a dropped database has no connection left.</summary>
    public string ConnectionString(string database, bool pooling = true) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Database = database,
        Username = Superuser,
        Password = Password,
        Pooling = pooling,
        Timeout = 15,
    }.ToString();

    /// <summary>
    /// Makes a cluster in a fresh temp directory and starts PostgreSQL on it; returns once it accepts connections.
    /// Fails, with what initdb or postgres printed, when either does not (a missing install fails here: callers skip
    /// first on <see cref="MissingReason"/>).
    /// </summary>
    public static async Task<PostgresServer> StartAsync()
    {
        var bin = FindBinaries() ?? throw new InvalidOperationException(MissingReason);
        var directory = System.IO.Directory.CreateTempSubdirectory("drover-pg-").FullName;
        try
        {
            var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
            var passwordFile = Path.Combine(directory, "password");
            await File.WriteAllTextAsync(passwordFile, password + "\n");
            var user = Environment.UserName == "root" ? RunAs.Nobody() : null;
            if (user is not null)
            {
                await RunAsync("chown", ["-R", $"{user.Uid}:{user.Gid}", directory]);
            }

            var data = Path.Combine(directory, "data");
            await RunAsync(Path.Combine(bin, "initdb"), ["-D", data, "-U", Superuser, "--pwfile", passwordFile, "-A", "scram-sha-256", "-E", "UTF8", "--locale", "C", "--no-sync", "--no-instructions"], user);
            File.Delete(passwordFile);

            var server = new PostgresServer(directory, Ports.Free(), password, bin, user);
            try
            {
                await server.WaitForConnectionsAsync();
                return server;
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
        catch
        {
            TryDelete(directory);
            throw;
        }
    }

    /// <summary>A new, empty database (its name from a GUID); returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(bool pooling = true)
    {
        var name = "t_" + Guid.NewGuid().ToString("N");
        await using var connection = new NpgsqlConnection(ConnectionString("postgres", pooling: false));
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await create.ExecuteNonQueryAsync();
        return ConnectionString(name, pooling);
    }

    /// <summary>Runs one statement in <paramref name="connectionString"/>'s database (a test's own change behind the store's back).</summary>
    public static async Task<object?> ExecuteAsync(string connectionString, string sql)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ToString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    /// <summary>
    /// Stops PostgreSQL as DisposeAsync does (a fast shutdown: every session ended), leaves it down for
    /// <paramref name="down"/>, then starts it again on the same cluster and port; returns once it accepts connections.
    /// What a database restarted under its clients looks like to them: refused connections, then the same server back.
    /// </summary>
    public async Task RestartAsync(TimeSpan down)
    {
        await ShutDownAsync();
        if (!_process.HasExited)
        {
            throw new TimeoutException($"postgres did not stop within {ShutdownTimeout.TotalSeconds} s of a fast shutdown:{Environment.NewLine}{Output}");
        }

        await Task.Delay(down);
        for (var attempt = 1; ; attempt++)
        {
            var stopped = _process;
            var from = Output.Length;
            _process = Launch();
            stopped.Dispose();
            try
            {
                await WaitForConnectionsAsync();
                return;
            }
            catch (InvalidOperationException) when (attempt < 5 && PortWasTaken(from))
            {
                // The port was free while postgres was down, so a client's outgoing connection may have been given it
                // as its own local port for a moment: try again once that connection is gone.
                await Task.Delay(200);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ShutDownAsync();
        await ProcessTree.KillAsync(_process);
        _process.Dispose();
        TryDelete(Directory);
    }

    /// <summary>A fast shutdown (SIGINT: sessions ended, shared memory released, nothing left behind), waited for up to <see cref="ShutdownTimeout"/>.</summary>
    private async Task ShutDownAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                using (var interrupt = Process.Start("kill", ["-INT", _process.Id.ToString(CultureInfo.InvariantCulture)]))
                {
                    await interrupt.WaitForExitAsync();
                }

                await _process.WaitForExitAsync().WaitAsync(ShutdownTimeout);
            }
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
        }
    }

    /// <summary>Whether postgres exited because its port was in use (what it printed from <paramref name="from"/> on says so).</summary>
    private bool PortWasTaken(int from)
    {
        if (!_process.HasExited)
        {
            return false;
        }

        _process.WaitForExit(); // the rest of its output
        return Output[from..].Contains("already in use", StringComparison.Ordinal);
    }

    /// <summary>Starts <c>postgres</c> on this cluster and port, its output appended to <see cref="Output"/>.</summary>
    private Process Launch()
    {
        var process = Process.Start(Start(Path.Combine(_bin, "postgres"), [
            "-D", Path.Combine(Directory, "data"),
            "-p", Port.ToString(CultureInfo.InvariantCulture),
            "-c", "listen_addresses=127.0.0.1",
            "-c", "unix_socket_directories=",
            "-c", "fsync=off",
            "-c", "full_page_writes=off",
            "-c", "max_connections=200",
        ], _user)) ?? throw new InvalidOperationException("postgres did not start");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private async Task WaitForConnectionsAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"postgres exited ({_process.ExitCode}) before accepting connections:{Environment.NewLine}{Output}");
            }

            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString("postgres", pooling: false));
                await connection.OpenAsync();
                return;
            }
            catch (NpgsqlException) when (deadline.Elapsed < StartTimeout)
            {
                await Task.Delay(50);
            }
        }
    }

    private static ProcessStartInfo Start(string binary, IEnumerable<string> args, RunAs? user)
    {
        var info = new ProcessStartInfo(user is null ? binary : "setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (user is not null)
        {
            // setpriv execs the binary in place: the process the test holds is postgres itself.
            foreach (var arg in (string[])[$"--reuid={user.Uid}", $"--regid={user.Gid}", "--clear-groups", "--", binary])
            {
                info.ArgumentList.Add(arg);
            }
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["LC_ALL"] = "C";
        return info;
    }

    private static async Task RunAsync(string binary, IEnumerable<string> args, RunAs? user = null)
    {
        using var process = Process.Start(Start(binary, args, user)) ?? throw new InvalidOperationException($"'{binary}' did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(StartTimeout);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{binary} {string.Join(' ', args)}' exited {process.ExitCode}:{Environment.NewLine}{await stdout}{await stderr}");
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    /// <summary>The unprivileged user root runs PostgreSQL as.</summary>
    private sealed record RunAs(int Uid, int Gid)
    {
        /// <summary><c>nobody</c> from /etc/passwd (65534 on Debian), with its primary group.</summary>
        public static RunAs Nobody()
        {
            var line = File.ReadLines("/etc/passwd").FirstOrDefault(l => l.StartsWith("nobody:", StringComparison.Ordinal))
                ?? throw new InvalidOperationException("there is no user 'nobody' in /etc/passwd to run PostgreSQL as (initdb refuses root)");
            var fields = line.Split(':');
            return new RunAs(int.Parse(fields[2], CultureInfo.InvariantCulture), int.Parse(fields[3], CultureInfo.InvariantCulture));
        }
    }
}
