using System.Net;
using Drover.Aggregator.Access;
using Drover.Aggregator.Api;
using Drover.Aggregator.Leadership;
using Drover.Aggregator.State;
using Drover.Aggregator.Tests.Events;
using Microsoft.Extensions.DependencyInjection;

namespace Drover.Aggregator.Tests.State;

/// <summary>
/// A real aggregator host configured with <c>store: postgres</c> on a fresh database of the collection's PostgreSQL:
/// every store service is the one <see cref="PostgresStateStore"/>, and what the API defined survives a restart with
/// nothing of it in the data directory.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class AggregatorOnPostgresTests(PostgresFixture postgres) : IDisposable
{
    private readonly TempDirectory _secrets = new();

    public void Dispose() => _secrets.Dispose();

    [SkippableFact]
    public async Task Host_StorePostgres_OneStoreForEverything_DefinitionsSurviveARestart()
    {
        var (connectionString, connectionFile) = await NewDatabaseAsync();
        await using var aggregator = await StartOnAsync(connectionFile);

        var store = Assert.IsType<PostgresStateStore>(aggregator.Services.GetRequiredService<IAggregatorStore>());
        Assert.Same(store, aggregator.Services.GetRequiredService<IStateStore>());
        Assert.Same(store, aggregator.Services.GetRequiredService<IAssignmentStore>());
        Assert.Same(store, aggregator.Services.GetRequiredService<IDecisionMemoryStore>());
        Assert.Same(store, aggregator.Services.GetRequiredService<IDefinitionStore>());
        await aggregator.DefineFunctionAsync("echo");
        Assert.True(store.ReserveEventSequences("function/echo", 77));

        await aggregator.RestartAsync();

        using var function = await aggregator.Http.GetAsync("/v1/functions/echo");
        Assert.Equal(HttpStatusCode.OK, function.StatusCode);
        Assert.Equal(77UL, aggregator.Services.GetRequiredService<IDecisionMemoryStore>().LoadEventSequences()["function/echo"]);
        Assert.False(File.Exists(Path.Combine(aggregator.Options.DataDirectory, "functions.json")));
        Assert.False(File.Exists(Path.Combine(aggregator.Options.DataDirectory, SqliteStateStore.FileName)));
    }

    [SkippableFact]
    public async Task Host_StorePostgres_ApiRequestsForwardedByAFollower_NotLimitedAgainOthersAre()
    {
        var (connectionString, connectionFile) = await NewDatabaseAsync();
        await using var aggregator = await StartOnAsync(connectionFile, o => o.ApiRequestsPerMinute = 2);
        var secret = (string)(await PostgresServer.ExecuteAsync(connectionString, $"SELECT value FROM secrets WHERE name = '{LeaderStart.ForwardingSecretName}'"))!;

        // Marked by a follower (which limited each client itself): never counted here.
        for (var i = 0; i < 5; i++)
        {
            using var forwarded = new HttpRequestMessage(HttpMethod.Get, "/v1/nodes");
            forwarded.Headers.Add(ApiRateLimit.ForwardedByHeader, secret);
            using var answer = await aggregator.Http.SendAsync(forwarded);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        // Anything else, a wrong mark included, is one client's: the third in the minute is refused.
        HttpStatusCode[] statuses = [.. await Task.WhenAll(Enumerable.Range(0, 3).Select(async _ =>
        {
            using var guessed = new HttpRequestMessage(HttpMethod.Get, "/v1/nodes");
            guessed.Headers.Add(ApiRateLimit.ForwardedByHeader, "a guess");
            using var answer = await aggregator.Http.SendAsync(guessed);
            return answer.StatusCode;
        }))];
        Assert.Equal(2, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Single(statuses, HttpStatusCode.TooManyRequests);
    }

    [SkippableFact]
    public async Task Host_StorePostgres_WriteRefusedByTheFence_503WithRetryAfterAndStepsDown()
    {
        var (connectionString, connectionFile) = await NewDatabaseAsync();
        await using var aggregator = await StartOnAsync(connectionFile);
        var store = Assert.IsType<PostgresStateStore>(aggregator.Services.GetRequiredService<IAggregatorStore>());
        var leadership = aggregator.Services.GetRequiredService<CurrentLeadership>();

        // Its writes are fenced by a term the leadership row does not hold, as a deposed leader's are. (The row's own
        // term is left alone: the lease keeper, renewing it, would otherwise find the election first.)
        store.FenceTerm = (long)(await PostgresServer.ExecuteAsync(connectionString, "SELECT term FROM leadership"))! + 1;

        using var put = await aggregator.Http.PutAsync(
            "/v1/functions/echo",
            new StringContent("{\"runtime\": {\"type\": \"process\", \"command\": \"/bin/true\"}}", System.Text.Encoding.UTF8, "application/json"));
        using var problem = System.Text.Json.JsonDocument.Parse(await put.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.ServiceUnavailable, put.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(StoreFailures.RetryAfterSeconds), put.Headers.RetryAfter?.Delta);
        Assert.Equal("Not the leader", problem.RootElement.GetProperty("title").GetString());
        Assert.True(leadership.Deposed.IsCompleted);
        Assert.Contains("refused by the store's fence", await leadership.Deposed, StringComparison.Ordinal);
        Assert.DoesNotContain("echo", store.LoadDefinitions("functions") ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_OnlyTheFenceAndTransientStoreFailures_AreAnswered503()
    {
        var fenced = new Npgsql.PostgresException("term 4 is no longer the leader's", "ERROR", "ERROR", PostgresStateStore.FencedState);
        var unique = new Npgsql.PostgresException("duplicate key", "ERROR", "ERROR", "23505");

        Assert.True(StoreFailures.Describe(fenced)?.Fenced);
        Assert.True(StoreFailures.Describe(new InvalidOperationException("wrapped", fenced))?.Fenced);
        Assert.False(StoreFailures.Describe(new Npgsql.NpgsqlException("timed out", new TimeoutException()))?.Fenced);
        Assert.Null(StoreFailures.Describe(unique));
        Assert.Null(StoreFailures.Describe(new InvalidOperationException("a bug")));
    }

    /// <summary>An aggregator host on the database of <paramref name="connectionFile"/>, with <paramref name="configure"/>'s settings.</summary>
    private static Task<TestAggregator> StartOnAsync(string connectionFile, Action<Drover.Aggregator.Configuration.AggregatorOptions>? configure = null)
        => TestAggregator.StartAsync(configure: o =>
        {
            o.Store = "postgres";
            o.PostgresConnectionStringFile = connectionFile;
            configure?.Invoke(o);
        });

    /// <summary>A fresh database of the collection's PostgreSQL, and its connection string in a 0600 file (skipped where PostgreSQL is missing).</summary>
    private async Task<(string ConnectionString, string File)> NewDatabaseAsync()
    {
        Skip.If(PostgresServer.MissingReason is not null, PostgresServer.MissingReason);
        var connectionString = await (await postgres.ServerAsync()).CreateDatabaseAsync();
        var connectionFile = Path.Combine(_secrets.Path, "postgres.conn");
        await File.WriteAllTextAsync(connectionFile, connectionString);
        File.SetUnixFileMode(connectionFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return (connectionString, connectionFile);
    }
}
