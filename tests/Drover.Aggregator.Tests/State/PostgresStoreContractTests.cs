using Drover.Aggregator.State;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Aggregator.Tests.State;

/// <summary>
/// The store contract against <see cref="PostgresStateStore"/> on a real PostgreSQL (<see cref="PostgresFixture"/>):
/// each test on a fresh database of the collection's one server. Skipped, saying why, only where PostgreSQL is not
/// installed.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresStoreContractTests(PostgresFixture postgres) : StoreContractTests
{
    private string? _connectionString;

    private protected override string? SkipReason => PostgresServer.MissingReason;

    private protected override int SchemaVersion => PostgresSchema.Version;

    public override async Task InitializeAsync()
    {
        if (SkipReason is null)
        {
            _connectionString = await (await postgres.ServerAsync()).CreateDatabaseAsync();
        }
    }

    private protected override IAggregatorStore Create(int keepVersions)
        => new PostgresStateStore(_connectionString!, NullLogger<PostgresStateStore>.Instance, keepVersions);

    private protected override Task<object?> ExecuteAsync(string sql) => PostgresServer.ExecuteAsync(_connectionString!, sql);
}
