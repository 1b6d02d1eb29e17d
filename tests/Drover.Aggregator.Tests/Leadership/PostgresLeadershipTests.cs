using Drover.Aggregator.Leadership;
using Drover.Aggregator.State;
using Drover.Aggregator.Tests.State;
using Drover.Decisions.Routing;
using Npgsql;

namespace Drover.Aggregator.Tests.Leadership;

/// <summary>
/// The leadership row, the routing row, the secrets and the fence of <see cref="PostgresStateStore"/> on a real
/// PostgreSQL: several stores on one fresh database stand for several aggregators. No test waits for a lease to run
/// out: one that needs it lapsed sets <c>lease_until</c> in the past.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresLeadershipTests(PostgresFixture postgres) : IDisposable
{
    private const string LinkA = "https://a.example:7401";
    private const string ApiA = "https://a.example:7400";
    private const string LinkB = "https://b.example:7401";
    private const string ApiB = "https://b.example:7400";

    private static readonly TimeSpan Lease = LeadershipDatabase.Lease;

    private LeadershipDatabase? _database;

    public void Dispose() => _database?.Dispose();

    private async Task<PostgresStateStore> FreshAsync()
    {
        _database = await LeadershipDatabase.CreateAsync(postgres);
        return _database.Open();
    }

    private PostgresStateStore Open() => _database!.Open();

    private Task<object?> ExecuteAsync(string sql) => _database!.ExecuteAsync(sql);

    private Task<object?> LapseLeaseAsync() => _database!.LapseLeaseAsync();

    [SkippableFact]
    public async Task ReadLeadership_FreshStore_TermZeroNoHolderNoLease()
    {
        var store = await FreshAsync();

        var view = await store.ReadLeadershipAsync(CancellationToken.None);

        Assert.False(string.IsNullOrEmpty(view.StoreId));
        Assert.Equal(0, view.Term);
        Assert.Null(view.Holder);
        Assert.Equal("", view.LinkUrl);
        Assert.Equal("", view.ApiUrl);
        Assert.Null(view.AcquiredAt);
        Assert.Null(view.SinceRenewed);
        Assert.False(view.LeaseRunning);
        Assert.False(view.Reachable(TimeSpan.FromSeconds(1)));
    }

    [SkippableFact]
    public async Task TryAcquireLeadership_NoLease_TermOneWithTheUrls()
    {
        var store = await FreshAsync();
        var fresh = await store.ReadLeadershipAsync(CancellationToken.None);

        var won = await store.TryAcquireLeadershipAsync("a", LinkA, ApiA, Lease, CancellationToken.None);

        Assert.NotNull(won);
        Assert.Equal(fresh.StoreId, won.StoreId);
        Assert.Equal(1, won.Term);
        Assert.Equal("a", won.Holder);
        Assert.Equal(LinkA, won.LinkUrl);
        Assert.Equal(ApiA, won.ApiUrl);
        Assert.NotNull(won.AcquiredAt);

        // Renewed in the acquiring statement itself: its now() is the renewal's.
        Assert.Equal(TimeSpan.Zero, won.SinceRenewed);
        Assert.True(won.LeaseRunning);
        var read = await Open().ReadLeadershipAsync(CancellationToken.None);
        Assert.Equal((won.StoreId, 1L, "a", LinkA, ApiA, won.AcquiredAt, true), (read.StoreId, read.Term, read.Holder, read.LinkUrl, read.ApiUrl, read.AcquiredAt, read.LeaseRunning));
    }

    [SkippableTheory]
    [InlineData("b")]
    [InlineData("a")]
    public async Task TryAcquireLeadership_LeaseRuns_NullAndRowUnchanged(string bidder)
    {
        var store = await FreshAsync();
        var won = await store.TryAcquireLeadershipAsync("a", LinkA, ApiA, Lease, CancellationToken.None);

        var second = await Open().TryAcquireLeadershipAsync(bidder, LinkB, ApiB, Lease, CancellationToken.None);

        Assert.Null(second);
        var read = await store.ReadLeadershipAsync(CancellationToken.None);
        Assert.Equal((1L, "a", LinkA, ApiA, won!.AcquiredAt, true), (read.Term, read.Holder, read.LinkUrl, read.ApiUrl, read.AcquiredAt, read.LeaseRunning));
    }

    /// <summary>Rows: the holder and term renewing; whether the renewal is taken (the lease, lapsed in SQL first, then runs again).</summary>
    [SkippableTheory]
    [InlineData("a", 1L, true)]
    [InlineData("b", 1L, false)]
    [InlineData("a", 0L, false)]
    [InlineData("a", 2L, false)]
    [InlineData("A", 1L, false)]
    public async Task RenewLeadership_Cases(string holder, long term, bool renewed)
    {
        var store = await FreshAsync();
        await store.TryAcquireLeadershipAsync("a", LinkA, ApiA, Lease, CancellationToken.None);
        await LapseLeaseAsync();

        Assert.Equal(renewed, await store.RenewLeadershipAsync(holder, term, Lease, CancellationToken.None));

        var read = await store.ReadLeadershipAsync(CancellationToken.None);
        Assert.Equal((1L, "a", renewed), (read.Term, read.Holder, read.LeaseRunning));
    }

    [SkippableFact]
    public async Task RenewLeadership_TermTakenByAnother_False()
    {
        var a = await FreshAsync();
        await a.TryAcquireLeadershipAsync("a", LinkA, ApiA, Lease, CancellationToken.None);
        await LapseLeaseAsync();
        var b = Open();
        Assert.Equal(2, (await b.TryAcquireLeadershipAsync("b", LinkB, ApiB, Lease, CancellationToken.None))?.Term);

        Assert.False(await a.RenewLeadershipAsync("a", 1, Lease, CancellationToken.None));
        Assert.True(await b.RenewLeadershipAsync("b", 2, Lease, CancellationToken.None));
        Assert.Equal("b", (await a.ReadLeadershipAsync(CancellationToken.None)).Holder);
    }

    [SkippableFact]
    public async Task ReleaseLeadership_ByTheHolder_AnotherAcquiresTermTwo()
    {
        var a = await FreshAsync();
        await a.TryAcquireLeadershipAsync("a", LinkA, ApiA, Lease, CancellationToken.None);

        await a.ReleaseLeadershipAsync("a", 1, CancellationToken.None);

        var released = await a.ReadLeadershipAsync(CancellationToken.None);
        Assert.Equal((1L, "a", false), (released.Term, released.Holder, released.LeaseRunning));
        Assert.False(released.Reachable(TimeSpan.FromSeconds(1)));
        var won = await Open().TryAcquireLeadershipAsync("b", LinkB, ApiB, Lease, CancellationToken.None);
        Assert.NotNull(won);
        Assert.Equal((2L, "b", LinkB, ApiB, true), (won.Term, won.Holder, won.LinkUrl, won.ApiUrl, won.LeaseRunning));
        Assert.Equal(released.StoreId, won.StoreId);
    }

    /// <summary>Rows: a release by another holder, or of another term, which leaves the lease running.</summary>
    [SkippableTheory]
    [InlineData("b", 1L)]
    [InlineData("a", 0L)]
    [InlineData("a", 2L)]
    public async Task ReleaseLeadership_NotTheHoldersTerm_LeaseKeepsRunning(string holder, long term)
    {
        var a = await FreshAsync();
        await a.TryAcquireLeadershipAsync("a", LinkA, ApiA, Lease, CancellationToken.None);

        await Open().ReleaseLeadershipAsync(holder, term, CancellationToken.None);

        Assert.True((await a.ReadLeadershipAsync(CancellationToken.None)).LeaseRunning);
        Assert.Null(await Open().TryAcquireLeadershipAsync("c", LinkB, ApiB, Lease, CancellationToken.None));
    }

    [SkippableFact]
    public async Task TryAcquireLeadership_LeaseLapsed_AnotherTakesTheNextTerm()
    {
        var a = await FreshAsync();
        await a.TryAcquireLeadershipAsync("a", LinkA, ApiA, Lease, CancellationToken.None);

        await LapseLeaseAsync();

        Assert.False((await a.ReadLeadershipAsync(CancellationToken.None)).LeaseRunning);
        var won = await Open().TryAcquireLeadershipAsync("b", LinkB, ApiB, Lease, CancellationToken.None);
        Assert.Equal((2L, "b", true), (won!.Term, won.Holder, won.LeaseRunning));
        Assert.Null(await a.TryAcquireLeadershipAsync("a", LinkA, ApiA, Lease, CancellationToken.None));
    }

    [SkippableFact]
    public async Task TryAcquireLeadership_EightAtOnce_ExactlyOneWinsEachTerm()
    {
        await FreshAsync();
        var stores = Enumerable.Range(0, 8).Select(_ => Open()).ToArray();

        for (var term = 1L; term <= 3; term++)
        {
            if (term > 1)
            {
                await LapseLeaseAsync();
            }

            var bids = await Task.WhenAll(stores.Select((store, i) =>
                Task.Run(() => store.TryAcquireLeadershipAsync($"agg-{i}", $"https://agg-{i}:7401", $"https://agg-{i}:7400", Lease, CancellationToken.None))));

            var won = Assert.Single(bids, b => b is not null)!;
            Assert.Equal(term, won.Term);
            var read = await stores[0].ReadLeadershipAsync(CancellationToken.None);
            Assert.Equal((term, won.Holder, won.LinkUrl), (read.Term, read.Holder, read.LinkUrl));
        }
    }

    [SkippableFact]
    public async Task Fence_AnotherTermElected_EveryWriteOfTheOldTermRefusedAndNothingWritten()
    {
        var old = await FreshAsync();
        var current = Open();
        old.FenceTerm = (await old.TryAcquireLeadershipAsync("a", LinkA, ApiA, Lease, CancellationToken.None))!.Term;
        await LapseLeaseAsync();
        current.FenceTerm = (await current.TryAcquireLeadershipAsync("b", LinkB, ApiB, Lease, CancellationToken.None))!.Term;
        Assert.Equal((1L, 2L), (old.FenceTerm, current.FenceTerm));
        var bytes = Snapshots.Bytes(4096, seed: 3);

        Assert.False(old.SaveAssignment(new StoredAssignment("fn-a-1", "a", "node-1", 1, null)));
        Assert.False(old.SaveStop(new StoredStop("fn-a-2", "a", "node-1", false, Snapshots.CommittedAt)));
        Assert.False(old.SaveNodePenalties(new Dictionary<string, DateTimeOffset> { ["node-1"] = Snapshots.CommittedAt }));
        Assert.False(old.ReserveEventSequences("function/a", 10));
        var definitions = Assert.Throws<PostgresException>(() => old.SaveDefinitions("functions", "[]"));
        Assert.Equal(PostgresStateStore.FencedState, definitions.SqlState);
        using (var content = new MemoryStream(bytes))
        {
            var commit = await Assert.ThrowsAsync<PostgresException>(() => old.CommitAsync(Snapshots.Info("fn-a-1", 1, bytes), content, CancellationToken.None));
            Assert.Equal(PostgresStateStore.FencedState, commit.SqlState);
        }

        foreach (var table in (string[])["snapshots", "snapshot_chunks", "assignments", "pending_stops", "decision_memory", "event_sequences", "definitions"])
        {
            Assert.Equal((table, 0L), (table, (long)(await ExecuteAsync($"SELECT count(*) FROM {table}"))!));
        }
    }

    [SkippableFact]
    public async Task Fence_TheCurrentTerm_EveryWriteGoesThrough()
    {
        var old = await FreshAsync();
        var current = Open();
        old.FenceTerm = (await old.TryAcquireLeadershipAsync("a", LinkA, ApiA, Lease, CancellationToken.None))!.Term;
        await LapseLeaseAsync();
        current.FenceTerm = (await current.TryAcquireLeadershipAsync("b", LinkB, ApiB, Lease, CancellationToken.None))!.Term;
        var bytes = Snapshots.Bytes(4096, seed: 4);

        Assert.True(current.SaveAssignment(new StoredAssignment("fn-a-1", "a", "node-1", 1, null)));
        Assert.True(current.SaveNodePenalties(new Dictionary<string, DateTimeOffset> { ["node-1"] = Snapshots.CommittedAt }));
        current.SaveDefinitions("functions", "[]");
        using (var content = new MemoryStream(bytes))
        {
            Assert.Equal(CommitOutcome.Committed, (await current.CommitAsync(Snapshots.Info("fn-a-1", 1, bytes), content, CancellationToken.None)).Outcome);
        }

        Assert.Equal([new StoredAssignment("fn-a-1", "a", "node-1", 1, null)], old.LoadAssignments());
        Assert.Equal("[]", old.LoadDefinitions("functions"));
        Assert.Equal(1, Assert.Single(await old.ListAsync("fn-a-1", CancellationToken.None)).Version);
    }

    [SkippableFact]
    public async Task Fence_NotSet_WritesGoThroughWhoeverLeads()
    {
        var unfenced = await FreshAsync();
        await Open().TryAcquireLeadershipAsync("b", LinkB, ApiB, Lease, CancellationToken.None);

        Assert.Equal(0, unfenced.FenceTerm);
        Assert.True(unfenced.SaveAssignment(new StoredAssignment("fn-a-1", "a", "node-1", 1, null)));
        unfenced.SaveDefinitions("functions", "[]");
    }

    [SkippableFact]
    public async Task PublishRouting_NoneYet_NothingToRead()
    {
        var store = await FreshAsync();

        Assert.Null(await store.ReadRoutingVersionAsync(CancellationToken.None));
        Assert.Null(await store.ReadRoutingAsync(CancellationToken.None));
    }

    [SkippableFact]
    public async Task PublishRouting_TheLeadersTerm_TrueAndReadBack()
    {
        var store = await FreshAsync();
        await store.TryAcquireLeadershipAsync("a", LinkA, ApiA, Lease, CancellationToken.None);
        var json = PublishedRouting.Serialize(Table("echo", "node-1"));

        Assert.True(await store.PublishRoutingAsync(1, 5, json, CancellationToken.None));

        var follower = Open();
        Assert.Equal((1L, 5L), await follower.ReadRoutingVersionAsync(CancellationToken.None));
        Assert.Equal((1L, 5L, json), await follower.ReadRoutingAsync(CancellationToken.None));
        Assert.True(await store.PublishRoutingAsync(1, 6, "{}", CancellationToken.None));
        Assert.Equal((1L, 6L, "{}"), await follower.ReadRoutingAsync(CancellationToken.None));
    }

    /// <summary>Rows: a term that is not the leader's (an old one, one not begun): refused and the row is left as the leader wrote it.</summary>
    [SkippableTheory]
    [InlineData(1L)]
    [InlineData(3L)]
    public async Task PublishRouting_NotTheLeadersTerm_FalseAndRowUnchanged(long term)
    {
        var old = await FreshAsync();
        await old.TryAcquireLeadershipAsync("a", LinkA, ApiA, Lease, CancellationToken.None);
        await LapseLeaseAsync();
        var current = Open();
        await current.TryAcquireLeadershipAsync("b", LinkB, ApiB, Lease, CancellationToken.None);
        var json = PublishedRouting.Serialize(Table("echo", "node-2"));
        Assert.True(await current.PublishRoutingAsync(2, 1, json, CancellationToken.None));

        Assert.False(await old.PublishRoutingAsync(term, 99, PublishedRouting.Serialize(Table("echo", "node-1")), CancellationToken.None));

        Assert.Equal((2L, 1L), await current.ReadRoutingVersionAsync(CancellationToken.None));
        Assert.Equal((2L, 1L, json), await current.ReadRoutingAsync(CancellationToken.None));
    }

    [SkippableFact]
    public async Task PublishRouting_OldTermBeforeTheNewLeaderPublished_FalseAndNothingWritten()
    {
        var old = await FreshAsync();
        await old.TryAcquireLeadershipAsync("a", LinkA, ApiA, Lease, CancellationToken.None);
        await LapseLeaseAsync();
        await Open().TryAcquireLeadershipAsync("b", LinkB, ApiB, Lease, CancellationToken.None);

        Assert.False(await old.PublishRoutingAsync(1, 1, "{}", CancellationToken.None));

        Assert.Null(await old.ReadRoutingAsync(CancellationToken.None));
    }

    [SkippableFact]
    public async Task GetOrCreateSecret_SeveralCallers_EveryOneGetsTheFirstValue()
    {
        var first = await FreshAsync();

        Assert.Equal("one", first.GetOrCreateSecret("shim", () => "one"));
        Assert.Equal("one", Open().GetOrCreateSecret("shim", () => "two"));
        Assert.Equal("one", first.GetOrCreateSecret("shim", () => "three"));
        Assert.Equal("other", Open().GetOrCreateSecret("other", () => "other"));
    }

    [SkippableFact]
    public async Task GetOrCreateSecret_EightAtOnce_AllGetTheSameValue()
    {
        await FreshAsync();
        var stores = Enumerable.Range(0, 8).Select(_ => Open()).ToArray();

        var values = await Task.WhenAll(stores.Select((store, i) => Task.Run(() => store.GetOrCreateSecret("shim", () => $"value-{i}"))));

        Assert.Single(values.Distinct(StringComparer.Ordinal));
        Assert.Equal(values[0], await ExecuteAsync("SELECT value FROM secrets WHERE name = 'shim'"));
    }

    private static RoutingTable Table(string workload, string node) => new(
        3,
        [],
        new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal) { [workload] = new HashSet<string>(StringComparer.Ordinal) { node } },
        false,
        "test");

    [SkippableFact]
    public async Task DeleteInstance_AnotherTermElected_RefusedAndTheStateKept()
    {
        _database = await LeadershipDatabase.CreateAsync(postgres);
        var old = _database.Open();
        var current = _database.Open();
        old.FenceTerm = (await old.TryAcquireLeadershipAsync("a", "l", "a", LeadershipDatabase.Lease, CancellationToken.None))!.Term;
        await _database.LapseLeaseAsync();
        current.FenceTerm = (await current.TryAcquireLeadershipAsync("b", "l", "a", LeadershipDatabase.Lease, CancellationToken.None))!.Term;
        var bytes = Snapshots.Bytes(4096, seed: 5);
        using (var content = new MemoryStream(bytes))
        {
            await current.CommitAsync(Snapshots.Info("fn-a-1", 1, bytes), content, CancellationToken.None);
        }

        await Assert.ThrowsAnyAsync<Npgsql.NpgsqlException>(() => old.DeleteInstanceAsync("fn-a-1", CancellationToken.None));

        Assert.Single(await current.ListAsync("fn-a-1", CancellationToken.None));
    }

}
