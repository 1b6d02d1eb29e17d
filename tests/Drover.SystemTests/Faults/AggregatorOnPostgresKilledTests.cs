using Drover.SystemTests.Infrastructure;
using Xunit.Abstractions;

namespace Drover.SystemTests.Faults;

/// <summary>
/// Issue 21: the real aggregator on a real PostgreSQL (<c>store: postgres</c>, <see cref="PostgresServer"/>), with
/// agents and the counter committing its state, its definition kept in the database too. SIGKILLed and started again
/// on the same database, it must have lost nothing committed: the instance carries on from its newest committed version, and when its node is lost it resumes
/// elsewhere from exactly the last commit, read back from PostgreSQL. Skipped, saying why, only where PostgreSQL is not
/// installed.
/// </summary>
[Trait("Category", "Faults")]
public sealed class AggregatorOnPostgresKilledTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly Fleet _fleet = new(output);
    private readonly PostgresStore _postgres = new();
    private CounterFleet? _counter;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _counter?.Dispose();
        await _fleet.DisposeAsync();
        await _postgres.DisposeAsync();
    }

    [SkippableFact]
    public async Task AggregatorOnPostgresSigkilled_NothingCommittedLost_InstanceResumesFromTheLastCommit()
    {
        Skip.If(PostgresServer.MissingReason is not null, PostgresServer.MissingReason);
        var connectionString = await _postgres.StartAsync();
        var onPostgres = await PostgresStore.ArgsAsync(Path.Combine(_fleet.Directory, "postgres.conn"), connectionString);

        var aggregator = _fleet.StartAggregator(onPostgres);
        await _fleet.WaitForAggregatorAsync();
        _counter = new CounterFleet(_fleet);
        _fleet.StartAgent("a1", serverNumber: 1);
        _fleet.StartAgent("a2", serverNumber: 2);
        await _fleet.WaitForAliveCountAsync(2, CounterFleet.Timeout);
        await _counter.DeployAsync(commitIntervalSeconds: 0);
        var instance = await _counter.WaitForInstanceAsync(CounterFleet.Running, "the counter runs");
        var id = CounterFleet.IdOf(instance);
        var port = instance.GetProperty("port").GetInt32();
        var home = instance.GetProperty("nodeId").GetString()!;

        // A few counts, each committed when asked: versions the aggregator acknowledged, so they are in PostgreSQL.
        var (count, committed) = await _counter.CountAndCommitAsync(port, times: 3);
        Assert.Equal(3, count);
        Assert.Equal((long)committed, Convert.ToInt64(await PostgresServer.ExecuteAsync(connectionString, $"SELECT max(version) FROM snapshots WHERE instance_id = '{id}'")));
        var dataDirectory = Path.Combine(_fleet.Directory, "aggregator", "data");
        Assert.False(File.Exists(Path.Combine(dataDirectory, "state.db")), "the aggregator on PostgreSQL made a state.db");
        Assert.False(File.Exists(Path.Combine(dataDirectory, "functions.json")), "the aggregator on PostgreSQL kept its functions in a file");
        Assert.Contains("\"counter\"", (string)(await PostgresServer.ExecuteAsync(connectionString, "SELECT value FROM definitions WHERE kind = 'functions'"))!, StringComparison.Ordinal);
        output.WriteLine($"Count {count} committed as version {committed} of '{id}' on '{home}'; SIGKILL the aggregator.");

        aggregator.Kill();
        await aggregator.WaitForExitAsync(TimeSpan.FromSeconds(20));
        aggregator = _fleet.StartAggregator(onPostgres);
        Assert.False(aggregator.HasExited, $"the aggregator did not start again on its database:{Environment.NewLine}{aggregator.Output}");
        await _fleet.WaitForAggregatorAsync();

        // Back, it knows the function (from PostgreSQL, there is no file) and the instance where it ran, at the version committed before the kill, and takes new commits above it.
        var back = await _counter.WaitForInstanceAsync(
            i => CounterFleet.IdOf(i) == id && CounterFleet.StateVersionOf(i) >= committed,
            $"the restarted aggregator reports version {committed} of '{id}'");
        Assert.Equal(home, back.GetProperty("nodeId").GetString());
        count = await _counter.PostWhenUpAsync(port);
        committed = await _counter.CommitAboveAsync(port, committed, $"count {count} is committed after the restart");
        Assert.Equal(4, count);

        // Its node lost, the instance resumes on the other node from what PostgreSQL holds: the last committed count.
        var moved = await _counter.LoseHomeAsync(id, home);
        Assert.Equal(count + 1, await _counter.PostWhenUpAsync(moved.GetProperty("port").GetInt32()));
        output.WriteLine($"Resumed on '{moved.GetProperty("nodeId").GetString()}' from version {committed}: the next count is {count + 1}.");
    }

    [Fact]
    public async Task Aggregator_PostgresUnreachable_ExitsWith1NamingTheStoreNotThePassword()
    {
        var port = Ports.Free(); // nothing listens there
        var connectionFile = await PostgresStore.WriteConnectionFileAsync(Path.Combine(_fleet.Directory, "postgres.conn"), $"Host=127.0.0.1;Port={port};Database=drover;Username=drover;Password=secret-value");
        await using var aggregator = ChildProcess.Start(
            Repository.Aggregator,
            [.. PostgresStore.Args(connectionFile), "--insecure", "true", "--httpPort", Ports.Free().ToString(System.Globalization.CultureInfo.InvariantCulture), "--linkPort", Ports.Free().ToString(System.Globalization.CultureInfo.InvariantCulture), "--dataDirectory", Path.Combine(_fleet.Directory, "data"), "--logFile", ""],
            Path.Combine(_fleet.Directory, "unreachable-aggregator.log"));

        var exitCode = await aggregator.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, exitCode);
        Assert.Contains($"drover-aggregator could not start: the state store 'postgres://127.0.0.1:{port}/drover' (store: postgres, postgresConnectionStringFile) cannot be opened", aggregator.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-value", aggregator.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Aggregator_PostgresConnectionFileOthersMayRead_ExitsWith78AndOneLine()
    {
        var connectionFile = await PostgresStore.WriteConnectionFileAsync(
            Path.Combine(_fleet.Directory, "postgres.conn"),
            "Host=127.0.0.1;Database=drover;Username=drover;Password=secret-value",
            PostgresStore.OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        await using var aggregator = ChildProcess.Start(
            Repository.Aggregator,
            [.. PostgresStore.Args(connectionFile), "--dataDirectory", Path.Combine(_fleet.Directory, "data"), "--logFile", ""],
            Path.Combine(_fleet.Directory, "bad-aggregator.log"));

        var exitCode = await aggregator.WaitForExitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(78, exitCode);
        var line = Assert.Single(aggregator.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"drover-aggregator: configuration error: postgresConnectionStringFile = '{connectionFile}': group or others may read or write it, and it holds the database's password; expected mode 0600 (chmod 600)", line);
        Assert.DoesNotContain("secret-value", aggregator.Output, StringComparison.Ordinal);
    }
}
