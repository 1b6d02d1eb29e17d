using Drover.Aggregator.State;
using Drover.Aggregator.Tests.State;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Aggregator.Tests.Leadership;

/// <summary>
/// A fresh database of the collection's PostgreSQL and the stores opened on it, each one aggregator sharing the
/// database; disposed together.
/// </summary>
internal sealed class LeadershipDatabase : IDisposable
{
    /// <summary>Long enough that no lease lapses by itself during a test: a test that needs a lapsed one ends it in SQL.</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);

    private readonly List<PostgresStateStore> _stores = [];

    private LeadershipDatabase(string connectionString) => ConnectionString = connectionString;

    public string ConnectionString { get; }

    /// <summary>A new database; the test is skipped, saying why, where PostgreSQL is not installed.</summary>
    public static async Task<LeadershipDatabase> CreateAsync(PostgresFixture postgres)
    {
        Skip.If(PostgresServer.MissingReason is not null, PostgresServer.MissingReason);
        return new LeadershipDatabase(await (await postgres.ServerAsync()).CreateDatabaseAsync());
    }

    /// <summary>One more aggregator's store on the database.</summary>
    public PostgresStateStore Open()
    {
        var store = new PostgresStateStore(ConnectionString, NullLogger<PostgresStateStore>.Instance);
        _stores.Add(store);
        return store;
    }

    public Task<object?> ExecuteAsync(string sql) => PostgresServer.ExecuteAsync(ConnectionString, sql);

    /// <summary>Ends the running lease in the database's clock, as if its leader had stopped renewing it a while ago.</summary>
    public Task<object?> LapseLeaseAsync() => ExecuteAsync("UPDATE leadership SET lease_until = now() - interval '1 second'");

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }
    }
}
