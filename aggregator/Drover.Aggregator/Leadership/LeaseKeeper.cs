using Drover.Aggregator.Configuration;
using Drover.Aggregator.State;

namespace Drover.Aggregator.Leadership;

/// <summary>
/// Keeps the elected leader's lease: renews it every <see cref="AggregatorOptions.LeaderRenewal"/> and fences the
/// store's writes by the term. The leader stops acting (this loop fails, so the process exits and its service
/// manager restarts it, as a follower) when it is deposed, or when it could not renew for the lease less one renewal,
/// counted on its own clock from when the last successful renewal was sent: it is gone before any follower, which
/// waits for the whole lease in the store's clock, can be elected. A clean stop gives the lease up, so a follower
/// takes over at once. <c>leaseSentAt</c>: when (<see cref="TimeProvider.GetTimestamp"/>) the election that won the
/// lease was sent. It runs from the moment of the election (<see cref="HighAvailability"/>), not from when the leading
/// application has started: a start slowed by a busy host must not let the lease lapse.
/// </summary>
internal sealed partial class LeaseKeeper(
    PostgresStateStore store,
    CurrentLeadership leadership,
    AggregatorOptions options,
    TimeProvider time,
    ILogger<LeaseKeeper> logger,
    long leaseSentAt) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        store.FenceTerm = leadership.Term;
        var renewedFrom = leaseSentAt;
        var actFor = options.LeaderLease - options.LeaderRenewal;
        leadership.ActUntil(ActUntil(renewedFrom, actFor));
        string? failing = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            var left = actFor - time.GetElapsedTime(renewedFrom);
            if (left <= TimeSpan.Zero)
            {
                leadership.Depose($"the lease of term {leadership.Term} could not be renewed for {(long)actFor.TotalMilliseconds} ms ({failing ?? "no answer"})");
            }

            if (leadership.Deposed.IsCompleted)
            {
                // Deposed: no command leaves from now on (AgentLinkService), every agent stream is let go (AggregatorHost).
                var reason = await leadership.Deposed;
                Log.SteppingDown(logger, leadership.Term, reason);
                throw new LeadershipLostException(reason);
            }

            var sent = time.GetTimestamp();
            try
            {
                // Raced against the deadline, not only cancelled by it: a database cut off mid-answer may hold a
                // cancelled command for seconds, and the leader must stop acting on time all the same.
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                deadline.CancelAfter(left);
                var renew = store.RenewLeadershipAsync(leadership.AggregatorId, leadership.Term, options.LeaderLease, deadline.Token);
                if (await Task.WhenAny(renew, Task.Delay(left, time, stoppingToken)) != renew)
                {
                    _ = renew.ContinueWith(static t => t.Exception, TaskScheduler.Default);
                    failing ??= "no answer from the store";
                    continue;
                }

                if (await renew)
                {
                    renewedFrom = sent;
                    leadership.ActUntil(ActUntil(renewedFrom, actFor));
                    if (failing is not null)
                    {
                        Log.Renewed(logger, leadership.Term);
                        failing = null;
                    }
                }
                else
                {
                    leadership.Depose($"the lease of term {leadership.Term} is no longer this aggregator's: another aggregator was elected");
                    continue;
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException or OperationCanceledException)
            {
                if (failing is null)
                {
                    Log.RenewFailed(logger, leadership.Term, ex.Message);
                }

                failing = ex.Message;
            }

            try
            {
                // The next try comes after a renewal, or sooner when less is left to act for: a store that is back
                // just in time is renewed on, and one that is not is noticed when the time to act runs out.
                var wait = TimeSpan.FromTicks(Math.Clamp((actFor - time.GetElapsedTime(renewedFrom)).Ticks, 0, options.LeaderRenewal.Ticks));
                await Task.WhenAny(leadership.Deposed, Task.Delay(wait, time, stoppingToken));
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>The timestamp <paramref name="actFor"/> after <paramref name="from"/>, on the keeper's clock.</summary>
    private long ActUntil(long from, TimeSpan actFor) => from + (long)(actFor.TotalSeconds * time.TimestampFrequency);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (!leadership.Deposed.IsCompleted)
        {
            try
            {
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                deadline.CancelAfter(options.LeaderRenewal * 2);
                await store.ReleaseLeadershipAsync(leadership.AggregatorId, leadership.Term, deadline.Token);
                Log.Released(logger, leadership.Term);
            }
            catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException or OperationCanceledException)
            {
                Log.ReleaseFailed(logger, leadership.Term, ex.Message);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1913, EventName = "LeaseRenewFailed", Level = LogLevel.Warning,
            Message = "Could not renew the leader's lease of term {Term}: {Reason}. Retrying until it runs out.")]
        public static partial void RenewFailed(ILogger logger, long term, string reason);

        [LoggerMessage(EventId = 1914, EventName = "LeaseRenewed", Level = LogLevel.Information,
            Message = "The leader's lease of term {Term} is renewed again.")]
        public static partial void Renewed(ILogger logger, long term);

        [LoggerMessage(EventId = 1915, EventName = "SteppingDown", Level = LogLevel.Error,
            Message = "Stepping down as leader of term {Term}: {Reason}. The aggregator exits, so that its service manager restarts it as a follower.")]
        public static partial void SteppingDown(ILogger logger, long term, string reason);

        [LoggerMessage(EventId = 1916, EventName = "LeaseReleased", Level = LogLevel.Information,
            Message = "Gave up the leader's lease of term {Term}: a follower takes over now.")]
        public static partial void Released(ILogger logger, long term);

        [LoggerMessage(EventId = 1917, EventName = "LeaseReleaseFailed", Level = LogLevel.Warning,
            Message = "Could not give up the leader's lease of term {Term} ({Reason}): a follower takes over when it runs out.")]
        public static partial void ReleaseFailed(ILogger logger, long term, string reason);
    }
}

/// <summary>The leader was deposed or lost its lease: the process exits (<see cref="Drover.Hosting.ExitCodes.Software"/>) and is restarted as a follower.</summary>
internal sealed class LeadershipLostException(string reason) : Exception($"lost the leadership: {reason}");
