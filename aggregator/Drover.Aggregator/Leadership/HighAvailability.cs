using Drover.Aggregator.Configuration;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.State;

namespace Drover.Aggregator.Leadership;

/// <summary>
/// An aggregator among several on one PostgreSQL database. It starts as a follower (<see cref="FollowerHost"/>) and
/// bids for the leadership (<see cref="LeaderElection"/>). Once elected it builds the leading application as any
/// aggregator starts, from the store (its definitions, assignments and decision memory), opens its ports beside the
/// follower's (<see cref="SharedListenSocket"/>), and only then closes the follower. It leads until it stops or loses
/// the lease (<see cref="LeaseKeeper"/>): then it exits, and its service manager starts it again, as a follower. A
/// leader never turns back into a follower in the same process, so no decision state outlives a leadership.
/// </summary>
internal static class HighAvailability
{
    public static async Task<int> RunAsync(AggregatorOptions options, Serilog.Core.Logger logger)
    {
        var time = TimeProvider.System;
        var identity = AggregatorIdentity.ForThisProcess();
        using var loggers = new Serilog.Extensions.Logging.SerilogLoggerFactory(logger);
        using var store = new PostgresStateStore(StateStores.ReadPostgresConnectionString(options), loggers.CreateLogger<PostgresStateStore>(), options.StateVersionsKept);
        var election = new LeaderElection(store, options, identity, time, loggers.CreateLogger<LeaderElection>());
        await using var follower = FollowerHost.Build(options, logger, election, store, identity);
        await follower.StartAsync();
        if (follower.Services.GetRequiredService<Microsoft.Extensions.Hosting.Systemd.ISystemdNotifier>() is { IsEnabled: true } notifier)
        {
            notifier.Notify(Microsoft.Extensions.Hosting.Systemd.ServiceState.Ready);
        }

        logger.Information("drover-aggregator {AggregatorId} follows on '{Store}' (link {LinkUrl}, API {ApiUrl}); it leads once elected.", identity.Id, store.Description, options.LinkUrl, options.ApiUrl);

        LeaderStart start;
        try
        {
            var (won, sentAt) = await election.RunUntilElectedAsync(follower.Lifetime.ApplicationStopping);
            start = await LeaderStart.ElectedAsync(store, won, sentAt, identity, follower.Lifetime.ApplicationStopping);
        }
        catch (OperationCanceledException) when (follower.Lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Stopped while following.
            await follower.WaitForShutdownAsync();
            return HostExit.CodeAfterStop(follower.Services, logger);
        }

        await using var leader = AggregatorHost.Build(options, logger, time, leader: start);
        try
        {
            await leader.StartAsync();
        }
        finally
        {
            await follower.StopAsync();
            await follower.DisposeAsync();
        }

        return await HostExit.AfterShutdownAsync(leader, logger);
    }
}
