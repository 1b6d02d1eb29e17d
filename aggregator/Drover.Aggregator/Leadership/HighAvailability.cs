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
    /// <summary>How long a deposed leader's application is given to stop before the process exits all the same.</summary>
    internal static readonly TimeSpan StepDownStopBound = TimeSpan.FromSeconds(5);

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

        // The lease is kept from this moment, not from when the leading application has started: on a busy host its
        // start can take longer than the lease.
        using var keeper = new LeaseKeeper(store, start.Leadership, options, time, loggers.CreateLogger<LeaseKeeper>(), start.LeaseSentAt);
        await keeper.StartAsync(CancellationToken.None);
        await using var leader = AggregatorHost.Build(options, logger, time, leader: start);
        try
        {
            await leader.StartAsync();
        }
        catch (OperationCanceledException) when (HostExit.FailedServices(leader.Services).Count > 0)
        {
            // A loop failed while the host was still starting (HostExit.RunAsync): reported below.
        }
        finally
        {
            await follower.StopAsync();
            await follower.DisposeAsync();
        }

        var stopped = leader.WaitForShutdownAsync();
        if (await Task.WhenAny(stopped, keeper.ExecuteTask!) != stopped)
        {
            // The lease is lost (LeaseKeeper logged why): the leading application stops, and the process exits for its
            // service manager to start it again, as a follower. It already acts no more (no command leaves, its writes
            // are fenced), so its stop is bounded: a store cut off would hold each write under way for Npgsql's whole
            // command timeout, and the process for a minute.
            using var bound = new CancellationTokenSource(StepDownStopBound);
            var stopping = leader.StopAsync(bound.Token);
            var stoppedInTime = await Task.WhenAny(stopping, Task.Delay(StepDownStopBound * 2, time)) == stopping;
            _ = keeper.ExecuteTask!.Exception;
            logger.Fatal("drover-aggregator lost the leadership of term {Term}; exiting with {ExitCode} so that the service manager restarts it as a follower.", start.Leadership.Term, ExitCodes.Software);
            if (!stoppedInTime)
            {
                logger.Error("The leading application did not stop within {Bound} s (store writes still waiting on the store); exiting without waiting for them.", (int)(StepDownStopBound * 2).TotalSeconds);
                await logger.DisposeAsync();
                Environment.Exit(ExitCodes.Software);
            }

            return ExitCodes.Software;
        }

        // A clean stop gives the lease up, after the leading application has stopped, so that a follower takes over at once.
        await keeper.StopAsync(CancellationToken.None);
        return HostExit.CodeAfterStop(leader.Services, logger);
    }
}
