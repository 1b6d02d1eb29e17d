using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.State;

namespace Drover.Aggregator.Leadership;

/// <summary>
/// A follower's view of the leadership, and its bid for it: reads the store's leadership row every half renewal
/// (<see cref="Observed"/>, which its Redirects, its API forwarding and <c>GET /v1/leader</c> answer from), and takes
/// the leadership once no lease runs. The store decides between followers that bid together: the row's update takes
/// it only where no lease runs, so exactly one wins a term.
/// </summary>
internal sealed partial class LeaderElection(
    PostgresStateStore store,
    AggregatorOptions options,
    AggregatorIdentity identity,
    TimeProvider time,
    ILogger<LeaderElection> logger)
{
    private volatile LeaderView? _observed;

    /// <summary>Marked at every poll, whether the store answered or not: what feeds a follower's systemd watchdog.</summary>
    public Drover.Hosting.LoopProgress Progress { get; } = new("election", () => options.LeaderRenewal / 2, time);

    /// <summary>The leadership as last read; null until the first read, or while the store cannot be read.</summary>
    public LeaderView? Observed => _observed;

    /// <summary>How often the row is read: half a renewal.</summary>
    public TimeSpan Poll => options.LeaderRenewal / 2;

    /// <summary>Watches until this aggregator is elected: returns the won leadership, and when the winning update was sent.</summary>
    public async Task<(LeaderView Won, long SentAt)> RunUntilElectedAsync(CancellationToken cancellationToken)
    {
        string? failing = null;
        while (true)
        {
            try
            {
                var view = await store.ReadLeadershipAsync(cancellationToken);
                Observe(view);
                if (!view.LeaseRunning)
                {
                    var sent = time.GetTimestamp();
                    if (await store.TryAcquireLeadershipAsync(identity.Id, options.LinkUrl, options.ApiUrl, options.LeaderLease, cancellationToken) is { } won)
                    {
                        Observe(won);
                        Log.Elected(logger, won.Term, store.Description);
                        return (won, sent);
                    }
                }

                if (failing is not null)
                {
                    Log.StoreBack(logger, store.Description);
                    failing = null;
                }
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException)
            {
                _observed = null;
                if (failing is null)
                {
                    Log.StoreFailed(logger, store.Description, ex.Message);
                }

                failing = ex.Message;
            }

            Progress.Completed();
            await Task.Delay(Poll, time, cancellationToken);
        }
    }

    private void Observe(LeaderView view)
    {
        var before = _observed;
        _observed = view;
        if (view.Holder is not null && (before is null || before.Term != view.Term))
        {
            Log.Leader(logger, view.Holder, view.Term, view.ApiUrl);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1918, EventName = "Elected", Level = LogLevel.Warning,
            Message = "Elected leader of '{Store}' in term {Term}: loading the fleet's state from the store and taking over.")]
        public static partial void Elected(ILogger logger, long term, string store);

        [LoggerMessage(EventId = 1919, EventName = "LeaderSeen", Level = LogLevel.Information,
            Message = "Following: the leader is '{Leader}' (term {Term}, API {ApiUrl}).")]
        public static partial void Leader(ILogger logger, string leader, long term, string apiUrl);

        [LoggerMessage(EventId = 1920, EventName = "ElectionStoreFailed", Level = LogLevel.Warning,
            Message = "Cannot read the leadership from '{Store}': {Reason}. Retrying; no leader is named meanwhile.")]
        public static partial void StoreFailed(ILogger logger, string store, string reason);

        [LoggerMessage(EventId = 1921, EventName = "ElectionStoreBack", Level = LogLevel.Information,
            Message = "The leadership in '{Store}' can be read again.")]
        public static partial void StoreBack(ILogger logger, string store);
    }
}
