using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Npgsql;

namespace Drover.FleetSim;

/// <summary>
/// The PostgreSQL several aggregators share in an HA run (issue 21), when none is named: Debian's server (the newest
/// under <c>/usr/lib/postgresql</c>), a cluster made by <c>initdb</c> in a temp folder, listening on a free loopback
/// port only, one password-authenticated superuser and a database <c>drover</c>; at its defaults otherwise (fsync on,
/// as a deployment runs it), since the leader's lease renewals go through it. Under root it runs as <c>nobody</c>,
/// since initdb and postgres refuse root. The start logic of tests/Shared/PostgresServer.cs, cut to what a run needs:
/// that file is not linked here because the system tests, which see this assembly's internals, link it themselves.
/// </summary>
internal sealed class FleetPostgres : IAsyncDisposable
{
    private readonly string _directory;
    private readonly Process _process;

    private FleetPostgres(string directory, Process process, string connectionFile)
    {
        _directory = directory;
        _process = process;
        ConnectionFile = connectionFile;
    }

    /// <summary>The file holding the connection string of the database <c>drover</c> (mode 0600, as the aggregator requires).</summary>
    public string ConnectionFile { get; }

    /// <summary>The newest installed server's bin folder, or null when PostgreSQL is not installed.</summary>
    public static string? Binaries()
    {
        const string Root = "/usr/lib/postgresql";
        return !Directory.Exists(Root) ? null : Directory.GetDirectories(Root)
            .Select(dir => (Dir: Path.Combine(dir, "bin"), Version: double.TryParse(Path.GetFileName(dir), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : 0))
            .Where(c => File.Exists(Path.Combine(c.Dir, "initdb")) && File.Exists(Path.Combine(c.Dir, "postgres")))
            .OrderByDescending(c => c.Version)
            .Select(c => c.Dir)
            .FirstOrDefault();
    }

    /// <summary>Makes the cluster, starts PostgreSQL, creates the database and writes its connection string into <paramref name="runFolder"/>.</summary>
    public static async Task<FleetPostgres> StartAsync(string runFolder, CancellationToken cancellationToken)
    {
        var bin = Binaries() ?? throw new InvalidOperationException("PostgreSQL's server is not installed");
        // Its own temp folder: the run's folder is root's alone (0700), which nobody cannot enter.
        var directory = Directory.CreateTempSubdirectory("drover-fleetsim-pg.").FullName;
        (int Uid, int Gid)? user = Environment.UserName == "root" ? Nobody() : null;
        try
        {
            var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
            var passwordFile = Path.Combine(directory, "password");
            await File.WriteAllTextAsync(passwordFile, password + "\n", cancellationToken);
            if (user is not null)
            {
                await RunAsync("chown", ["-R", $"{user.Value.Uid}:{user.Value.Gid}", directory], null, cancellationToken);
            }

            var data = Path.Combine(directory, "data");
            await RunAsync(Path.Combine(bin, "initdb"), ["-D", data, "-U", "drover", "--pwfile", passwordFile, "-A", "scram-sha-256", "-E", "UTF8", "--locale", "C", "--no-sync", "--no-instructions"], user, cancellationToken);
            File.Delete(passwordFile);

            var port = AggregatorProcess.FreePort();
            var process = Process.Start(Start(Path.Combine(bin, "postgres"), ["-D", data, "-p", port.ToString(CultureInfo.InvariantCulture), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "max_connections=200"], user))
                ?? throw new InvalidOperationException("postgres did not start");
            AppDomain.CurrentDomain.ProcessExit += (_, _) => ChildProcess.KillQuietly(process);
            _ = ChildProcess.DrainAsync(process.StandardOutput, Path.Combine(runFolder, "postgres.log"));
            _ = ChildProcess.DrainAsync(process.StandardError, Path.Combine(runFolder, "postgres.stderr.log"));
            var connectionString = new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = port, Database = "drover", Username = "drover", Password = password }.ToString();
            var server = new FleetPostgres(directory, process, Path.Combine(runFolder, "postgres.conn"));
            try
            {
                await CreateDatabaseAsync(process, new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false }.ToString(), cancellationToken);
                var owner = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite };
                await using (var file = new StreamWriter(server.ConnectionFile, owner))
                {
                    await file.WriteLineAsync(connectionString);
                }

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
            Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    /// <summary>A fast shutdown (SIGINT), SIGKILL after 10 s, and the cluster's folder removed.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Posix.Interrupt(_process.Id);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                ChildProcess.KillQuietly(_process);
                await _process.WaitForExitAsync(CancellationToken.None);
            }
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static async Task CreateDatabaseAsync(Process process, string connectionString, CancellationToken cancellationToken)
    {
        var waiting = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"postgres ended ({process.ExitCode}) before accepting connections; see postgres.stderr.log in the run's folder (--keep)");
            }

            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(cancellationToken);
                await using var create = new NpgsqlCommand("CREATE DATABASE drover", connection);
                await create.ExecuteNonQueryAsync(cancellationToken);
                return;
            }
            catch (NpgsqlException) when (waiting.Elapsed < TimeSpan.FromMinutes(1))
            {
                await Task.Delay(100, cancellationToken);
            }
        }
    }

    private static ProcessStartInfo Start(string binary, IEnumerable<string> arguments, (int Uid, int Gid)? user)
    {
        var start = new ProcessStartInfo(user is null ? binary : "setpriv") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (user is { } u)
        {
            // setpriv execs the binary in place: the process held here is postgres itself.
            foreach (var argument in (string[])[$"--reuid={u.Uid}", $"--regid={u.Gid}", "--clear-groups", "--", binary])
            {
                start.ArgumentList.Add(argument);
            }
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["LC_ALL"] = "C";
        return start;
    }

    private static async Task RunAsync(string binary, IEnumerable<string> arguments, (int Uid, int Gid)? user, CancellationToken cancellationToken)
    {
        using var process = Process.Start(Start(binary, arguments, user)) ?? throw new InvalidOperationException($"'{binary}' did not start");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{binary}' exited {process.ExitCode}: {await output}{await error}");
        }
    }

    /// <summary>The user <c>nobody</c> from /etc/passwd, with its primary group.</summary>
    private static (int Uid, int Gid) Nobody()
    {
        var fields = (File.ReadLines("/etc/passwd").FirstOrDefault(l => l.StartsWith("nobody:", StringComparison.Ordinal))
            ?? throw new InvalidOperationException("there is no user 'nobody' to run PostgreSQL as (initdb refuses root)")).Split(':');
        return (int.Parse(fields[2], CultureInfo.InvariantCulture), int.Parse(fields[3], CultureInfo.InvariantCulture));
    }
}
