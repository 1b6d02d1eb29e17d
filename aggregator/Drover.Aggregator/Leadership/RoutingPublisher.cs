using Drover.Aggregator.State;
using Drover.Decisions.Routing;
using Drover.Gateway;

namespace Drover.Aggregator.Leadership;

/// <summary>
/// The elected leader's side of the routing the other aggregators' gateways serve: every table its gateway takes is
/// written to the store's <c>routing</c> row (the newest only: a table built while a write is under way waits for the
/// next). The write is fenced by the term: a deposed leader publishes nothing.
/// </summary>
internal sealed partial class RoutingPublisher(
    PostgresStateStore store,
    GatewayRoutingTable routes,
    CurrentLeadership leadership,
    TimeProvider time,
    ILogger<RoutingPublisher> logger) : BackgroundService
{
    /// <summary>How long the publisher waits for a new table before looking again (a table is published at once).</summary>
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        RoutingTable? published = null;
        var failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            var table = routes.Current;
            if (!ReferenceEquals(table, published) && table.Version > 0)
            {
                try
                {
                    if (!await store.PublishRoutingAsync(leadership.Term, table.Version, PublishedRouting.Serialize(table), stoppingToken))
                    {
                        leadership.Depose($"the routing table of term {leadership.Term} was refused: another aggregator was elected");
                        return;
                    }

                    published = table;
                    if (failing)
                    {
                        Log.Recovered(logger);
                        failing = false;
                    }
                }
                catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException && !stoppingToken.IsCancellationRequested)
                {
                    if (!failing)
                    {
                        Log.Failed(logger, ex.Message);
                        failing = true;
                    }

                    await Task.Delay(TimeSpan.FromMilliseconds(250), time, stoppingToken).ContinueWith(static _ => { }, TaskScheduler.Default);
                    continue;
                }
            }

            try
            {
                await routes.WaitForUpdateAsync(Idle, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1911, EventName = "RoutingPublishFailed", Level = LogLevel.Warning,
            Message = "Could not publish the routing table to the store for the other aggregators' gateways: {Reason}. They keep serving the last one published; retrying.")]
        public static partial void Failed(ILogger logger, string reason);

        [LoggerMessage(EventId = 1912, EventName = "RoutingPublishRecovered", Level = LogLevel.Information,
            Message = "The routing table is published to the store again.")]
        public static partial void Recovered(ILogger logger);
    }
}
