using System.Text.Json;
using Drover.Aggregator.State;
using Drover.Gateway;

namespace Drover.Aggregator.Leadership;

/// <summary>
/// A follower's gateway routing: reads the version of the routing table the leader published every half renewal, and
/// the table when it is newer (a later term, or a later version of the same term), into the follower's
/// <see cref="GatewayRoutingTable"/>. While the store cannot be read, or between leaders, the last table read stays in
/// force: the nodes' shims serve without any aggregator.
/// </summary>
internal sealed partial class RoutingFollower(
    PostgresStateStore store,
    GatewayRoutingTable routes,
    LeaderElection election,
    TimeProvider time,
    ILogger<RoutingFollower> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        (long Term, long Version)? applied = null;
        long local = 0;
        string? failing = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await store.ReadRoutingVersionAsync(stoppingToken) is { } newest && Newer(newest, applied)
                    && await store.ReadRoutingAsync(stoppingToken) is { } row)
                {
                    routes.Update(PublishedRouting.Deserialize(row.Json, ++local));
                    applied = (row.Term, row.Version);
                }

                if (failing is not null)
                {
                    Log.Back(logger);
                    failing = null;
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException or JsonException)
            {
                if (failing is null)
                {
                    Log.Failed(logger, ex.Message);
                }

                failing = ex.Message;
            }

            try
            {
                await Task.Delay(election.Poll, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Whether the published (term, version) is newer than the one applied: a later term, or a later version of the same.</summary>
    internal static bool Newer((long Term, long Version) published, (long Term, long Version)? applied)
        => applied is not { } was || published.Term > was.Term || (published.Term == was.Term && published.Version > was.Version);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1923, EventName = "RoutingReadFailed", Level = LogLevel.Warning,
            Message = "Cannot read the leader's routing table from the store: {Reason}. The gateway serves the last one read.")]
        public static partial void Failed(ILogger logger, string reason);

        [LoggerMessage(EventId = 1924, EventName = "RoutingReadBack", Level = LogLevel.Information,
            Message = "The leader's routing table can be read from the store again.")]
        public static partial void Back(ILogger logger);
    }
}
