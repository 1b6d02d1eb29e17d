using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Leadership;
using Drover.Aggregator.Tests.State;
using Microsoft.Extensions.Logging.Abstractions;

namespace Drover.Aggregator.Tests.Leadership;

/// <summary>
/// <see cref="LeaderElection"/> on a real PostgreSQL with a fake clock: the poll's wait is the fake clock's timer, so a
/// test knows when a round of reading is done and moves the clock itself.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class LeaderElectionTests(PostgresFixture postgres) : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly AggregatorOptions _options = new()
    {
        LeaderLeaseMs = 60_000,
        AdvertisedLinkUrl = "https://a.example:7401",
        AdvertisedApiUrl = "https://a.example:7400",
    };

    private LeadershipDatabase? _database;

    public void Dispose() => _database?.Dispose();

    [SkippableFact]
    public async Task RunUntilElected_NoLeaseRuns_ElectedAtOnceInTermOne()
    {
        _database = await LeadershipDatabase.CreateAsync(postgres);
        var time = new TimerWatchingTimeProvider(TimeSpan.FromSeconds(5));
        var election = Election(time);

        var (won, sentAt) = await election.RunUntilElectedAsync(CancellationToken.None).WaitAsync(Bound);

        Assert.Equal((1L, "a", "https://a.example:7401", "https://a.example:7400", true), (won.Term, won.Holder, won.LinkUrl, won.ApiUrl, won.LeaseRunning));
        Assert.Equal(time.GetTimestamp(), sentAt);
        Assert.Same(won, election.Observed);
    }

    [SkippableFact]
    public async Task RunUntilElected_AnotherLeads_WaitsThenElectedInTheNextTermOnceTheLeaseLapses()
    {
        _database = await LeadershipDatabase.CreateAsync(postgres);
        await _database.Open().TryAcquireLeadershipAsync("b", "https://b:7401", "https://b:7400", _options.LeaderLease, CancellationToken.None);
        var time = new TimerWatchingTimeProvider(_options.LeaderRenewal / 2);
        var election = Election(time);

        var run = election.RunUntilElectedAsync(CancellationToken.None);
        await time.NextTimerAsync();

        Assert.False(run.IsCompleted);
        Assert.Equal((1L, "b", true), (election.Observed?.Term, election.Observed?.Holder, election.Observed?.LeaseRunning));
        await _database.LapseLeaseAsync();
        time.Advance(election.Poll);
        var (won, _) = await run.WaitAsync(Bound);
        Assert.Equal((2L, "a"), (won.Term, won.Holder));
        Assert.Same(won, election.Observed);
    }

    [SkippableFact]
    public async Task RunUntilElected_CancelledWhileAnotherLeads_ThrowsAndTheRowIsUnchanged()
    {
        _database = await LeadershipDatabase.CreateAsync(postgres);
        var other = _database.Open();
        await other.TryAcquireLeadershipAsync("b", "https://b:7401", "https://b:7400", _options.LeaderLease, CancellationToken.None);
        var time = new TimerWatchingTimeProvider(_options.LeaderRenewal / 2);
        using var stop = new CancellationTokenSource();
        var run = Election(time).RunUntilElectedAsync(stop.Token);
        await time.NextTimerAsync();

        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(Bound));
        var view = await other.ReadLeadershipAsync(CancellationToken.None);
        Assert.Equal((1L, "b", true), (view.Term, view.Holder, view.LeaseRunning));
    }

    private LeaderElection Election(TimeProvider time)
        => new(_database!.Open(), _options, new AggregatorIdentity("a"), time, NullLogger<LeaderElection>.Instance);
}
