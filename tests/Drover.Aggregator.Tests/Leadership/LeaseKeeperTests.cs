using Drover.Aggregator.Configuration;
using Drover.Aggregator.Leadership;
using Drover.Aggregator.State;
using Drover.Aggregator.Tests.State;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Aggregator.Tests.Leadership;

/// <summary>
/// <see cref="LeaseKeeper"/> on a real PostgreSQL with a fake clock: the keeper's renewal waits are the fake clock's
/// timers, so a test knows when a round of renewal is done (its next wait is made) and moves the clock itself. The
/// real-time bounds are a safety net only.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class LeaseKeeperTests(PostgresFixture postgres) : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>A minute's lease, renewed every 10 s of the fake clock.</summary>
    private readonly AggregatorOptions _options = new() { LeaderLeaseMs = 60_000 };

    private readonly List<LeaseKeeper> _keepers = [];
    private LeadershipDatabase? _database;

    public void Dispose()
    {
        foreach (var keeper in _keepers)
        {
            keeper.Dispose();
        }

        _database?.Dispose();
    }

    [SkippableFact]
    public async Task ExecuteAsync_TermTakenByAnother_LeadershipLostAndFenced()
    {
        var (store, leadership) = await ElectedAsync();
        await _database!.LapseLeaseAsync();
        Assert.Equal(2, (await _database.Open().TryAcquireLeadershipAsync("b", "https://b:7401", "https://b:7400", _options.LeaderLease, CancellationToken.None))?.Term);
        var time = new TimerWatchingTimeProvider(_options.LeaderRenewal);
        var keeper = Keeper(store, leadership, time, time.GetTimestamp());

        await keeper.StartAsync(CancellationToken.None);

        var lost = await Assert.ThrowsAsync<LeadershipLostException>(() => keeper.ExecuteTask!.WaitAsync(Bound));
        Assert.Contains("another aggregator was elected", lost.Message, StringComparison.Ordinal);
        Assert.True(leadership.Deposed.IsCompleted);
        Assert.Equal(1, store.FenceTerm);
        Assert.False(store.SaveAssignment(new StoredAssignment("fn-a-1", "a", "node-1", 1, null)));
    }

    [SkippableFact]
    public async Task ExecuteAsync_NotRenewedForTheLeaseLessARenewal_LeadershipLost()
    {
        var (store, leadership) = await ElectedAsync();
        var time = new TimerWatchingTimeProvider(_options.LeaderRenewal);
        var sentAt = time.GetTimestamp();
        time.Advance(_options.LeaderLease - _options.LeaderRenewal);
        var keeper = Keeper(store, leadership, time, sentAt);

        await keeper.StartAsync(CancellationToken.None);

        var lost = await Assert.ThrowsAsync<LeadershipLostException>(() => keeper.ExecuteTask!.WaitAsync(Bound));
        Assert.Contains("could not be renewed for 50000 ms", lost.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task ExecuteAsync_Healthy_RenewsTheLeaseEveryRenewal()
    {
        var (store, leadership) = await ElectedAsync();
        var time = new TimerWatchingTimeProvider(_options.LeaderRenewal);
        await ShortenLeaseAsync();
        var keeper = Keeper(store, leadership, time, time.GetTimestamp());

        await keeper.StartAsync(CancellationToken.None);
        await time.NextTimerAsync();

        Assert.True(await LeaseRunsLongAsync());
        Assert.Equal(1, store.FenceTerm);
        await ShortenLeaseAsync();
        time.Advance(_options.LeaderRenewal);
        await time.NextTimerAsync();
        Assert.True(await LeaseRunsLongAsync());
        Assert.False(keeper.ExecuteTask!.IsCompleted);
        Assert.False(leadership.Deposed.IsCompleted);
    }

    [SkippableFact]
    public async Task StopAsync_Healthy_ReleasesTheLease()
    {
        var (store, leadership) = await ElectedAsync();
        var time = new TimerWatchingTimeProvider(_options.LeaderRenewal);
        var keeper = Keeper(store, leadership, time, time.GetTimestamp());
        await keeper.StartAsync(CancellationToken.None);
        await time.NextTimerAsync();

        await keeper.StopAsync(CancellationToken.None).WaitAsync(Bound);

        var view = await store.ReadLeadershipAsync(CancellationToken.None);
        Assert.Equal((1L, "a", false), (view.Term, view.Holder, view.LeaseRunning));
        Assert.Equal(2, (await _database!.Open().TryAcquireLeadershipAsync("b", "https://b:7401", "https://b:7400", _options.LeaderLease, CancellationToken.None))?.Term);
    }

    [SkippableFact]
    public async Task StopAsync_AfterDeposed_LeaseLeftToRunOut()
    {
        var (store, leadership) = await ElectedAsync();
        var time = new TimerWatchingTimeProvider(_options.LeaderRenewal);
        var keeper = Keeper(store, leadership, time, time.GetTimestamp());
        await keeper.StartAsync(CancellationToken.None);
        await time.NextTimerAsync();

        leadership.Depose("an agent knows a newer term");

        var lost = await Assert.ThrowsAsync<LeadershipLostException>(() => keeper.ExecuteTask!.WaitAsync(Bound));
        Assert.Contains("an agent knows a newer term", lost.Message, StringComparison.Ordinal);
        await keeper.StopAsync(CancellationToken.None).WaitAsync(Bound);
        Assert.True((await store.ReadLeadershipAsync(CancellationToken.None)).LeaseRunning);
    }

    /// <summary>A fresh database where aggregator "a" was elected in term 1, and its leadership.</summary>
    private async Task<(PostgresStateStore Store, CurrentLeadership Leadership)> ElectedAsync()
    {
        _database = await LeadershipDatabase.CreateAsync(postgres);
        var store = _database.Open();
        var won = await store.TryAcquireLeadershipAsync("a", "https://a:7401", "https://a:7400", _options.LeaderLease, CancellationToken.None);
        Assert.Equal(1, won?.Term);
        return (store, new CurrentLeadership("a", won!.StoreId, won.Term, won.LinkUrl, won.ApiUrl, won.AcquiredAt!.Value, elected: true));
    }

    private LeaseKeeper Keeper(PostgresStateStore store, CurrentLeadership leadership, TimeProvider time, long leaseSentAt)
    {
        var keeper = new LeaseKeeper(store, leadership, _options, time, NullLogger<LeaseKeeper>.Instance, leaseSentAt);
        _keepers.Add(keeper);
        return keeper;
    }

    /// <summary>Leaves a second of the lease in the database's clock, so that a renewal shows as a lease running long again.</summary>
    private Task<object?> ShortenLeaseAsync() => _database!.ExecuteAsync("UPDATE leadership SET lease_until = now() + interval '1 second'");

    private async Task<bool> LeaseRunsLongAsync()
        => (bool)(await _database!.ExecuteAsync("SELECT lease_until > now() + interval '30 seconds' FROM leadership"))!;
}
