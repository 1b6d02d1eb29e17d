namespace Drover.Aggregator.Tests.State;

/// <summary>
/// One real PostgreSQL (<see cref="PostgresServer"/>) for every test class of the <see cref="PostgresCollection"/>,
/// each test on a fresh database of it. Started by the first test that asks, so a machine without PostgreSQL, whose
/// tests skip, never tries.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private PostgresServer? _server;

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>The server, started on the first call.</summary>
    internal async Task<PostgresServer> ServerAsync()
    {
        await _gate.WaitAsync();
        try
        {
            return _server ??= await PostgresServer.StartAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _gate.Dispose();
    }
}

/// <summary>
/// The test classes that share one PostgreSQL. Not run beside other collections: the contract suite measures what a
/// streamed snapshot allocates, which other tests allocating at the same time would blur.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "PostgreSQL";
}

/// <summary>The SQLite half of the store contract: alone too, for the same measurement.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SqliteContractCollection
{
    public const string Name = "SQLite store contract";
}
