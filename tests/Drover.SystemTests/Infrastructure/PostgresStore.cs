namespace Drover.SystemTests.Infrastructure;

/// <summary>
/// Aggregators on a real PostgreSQL (issue 21, <c>store: postgres</c>): the server (<see cref="PostgresServer"/>),
/// started when a test asks and stopped when it is disposed (after the fleet, whose aggregators use it), with the
/// database the test's aggregators share; and the connection-string file an aggregator reads, with the arguments that
/// put it on one.
/// </summary>
internal sealed class PostgresStore : IAsyncDisposable
{
    /// <summary>The mode the aggregator demands of its connection-string file, which holds the database's password: 0600.</summary>
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private PostgresServer? _server;

    public PostgresServer Server => _server ?? throw new InvalidOperationException("PostgreSQL is not started");

    /// <summary>Starts PostgreSQL and makes the aggregators' database, without pooling (a dropped connection is not kept); returns its connection string.</summary>
    public async Task<string> StartAsync()
    {
        _server = await PostgresServer.StartAsync();
        return await _server.CreateDatabaseAsync(pooling: false);
    }

    /// <summary>Writes <paramref name="connectionString"/> to <paramref name="path"/> with <paramref name="mode"/> (<see cref="OwnerOnly"/> unless given); returns the path.</summary>
    public static async Task<string> WriteConnectionFileAsync(string path, string connectionString, UnixFileMode mode = OwnerOnly)
    {
        await File.WriteAllTextAsync(path, connectionString + "\n");
        File.SetUnixFileMode(path, mode);
        return path;
    }

    /// <summary>Writes <paramref name="connectionString"/> to <paramref name="path"/>, readable by its owner alone; returns the arguments that put an aggregator on it.</summary>
    public static async Task<string[]> ArgsAsync(string path, string connectionString)
        => Args(await WriteConnectionFileAsync(path, connectionString));

    /// <summary>The arguments that put an aggregator on the database <paramref name="connectionFile"/> names.</summary>
    public static string[] Args(string connectionFile) => ["--store", "postgres", "--postgresConnectionStringFile", connectionFile];

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
