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

    [SkippableFact]
    public async Task Open_SchemaVersion1_MigratedToTheDefinitionsAndLeadershipKeepingEverything()
    {
        var bytes = Snapshots.Bytes(1_500_000, seed: 1);
        var first = Open();
        using (var content = new MemoryStream(bytes))
        {
            await first.CommitAsync(Snapshots.Info("fn-a-1", 1, bytes), content, CancellationToken.None);
        }

        Assert.True(first.SaveAssignment(new StoredAssignment("fn-a-1", "a", "node-1", 2, null)));
        await ExecuteAsync("DROP TABLE definitions, leadership, routing, secrets; DROP FUNCTION drover_fence; UPDATE schema_version SET version = 1");

        var store = Reopen();

        Assert.Null(store.LoadDefinitions("functions"));
        store.SaveDefinitions("functions", "[]");
        Assert.Equal([new StoredAssignment("fn-a-1", "a", "node-1", 2, null)], store.LoadAssignments());
        await using var latest = await store.GetLatestAsync("fn-a-1", CancellationToken.None);
        Assert.Equal(bytes, await Snapshots.ReadAllAsync(latest!.Content));
        Assert.Equal(PostgresSchema.Version, await ExecuteAsync("SELECT version FROM schema_version"));
        Assert.Equal(0L, await ExecuteAsync("SELECT term FROM leadership"));
    }
}
