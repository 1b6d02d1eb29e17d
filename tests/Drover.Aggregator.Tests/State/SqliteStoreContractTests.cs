using Drover.Aggregator.State;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Aggregator.Tests.State;

/// <summary>The store contract against <see cref="SqliteStateStore"/>: each test on a fresh data directory.</summary>
[Collection(SqliteContractCollection.Name)]
public sealed class SqliteStoreContractTests : StoreContractTests
{
    private readonly TempDirectory _directory = new();

    private protected override int SchemaVersion => SqliteStateStore.SchemaVersion;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }

    private protected override IAggregatorStore Create(int keepVersions)
        => new SqliteStateStore(_directory.Path, NullLogger<SqliteStateStore>.Instance, keepVersions);

    private protected override Task<object?> ExecuteAsync(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, SqliteStateStore.FileName)};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Task.FromResult(command.ExecuteScalar());
    }
}
