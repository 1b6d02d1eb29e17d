using Drover.Aggregator.Leadership;
using Drover.Aggregator.State;
using Npgsql;

namespace Drover.Aggregator.Api;

/// <summary>
/// An API request whose store write could not be made, answered for what it is rather than as a bare 500: 503 with
/// <c>Retry-After</c> and problem details, since nothing was changed and the same request may succeed shortly.
/// <list type="bullet">
/// <item>The write was fenced (SQLSTATE <see cref="PostgresStateStore.FencedState"/>): another aggregator was elected,
/// so this one is no longer the leader. It steps down at once (the lease keeper would notice at its next renewal), and
/// the client retries through any aggregator, which forwards to the new leader.</item>
/// <item>PostgreSQL could not be reached or timed out (a transient <see cref="NpgsqlException"/>): the write is
/// retried by the client once the store is back.</item>
/// </list>
/// Anything else (a bug, a constraint broken) stays a 500.
/// </summary>
internal static partial class StoreFailures
{
    /// <summary>How long a client is asked to wait before it retries, in seconds.</summary>
    public const int RetryAfterSeconds = 1;

    public static void UseStoreFailures(this WebApplication app) => app.Use(async (context, next) =>
    {
        try
        {
            await next(context);
        }
        catch (Exception ex) when (!context.Response.HasStarted && Describe(ex) is { } failure)
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(StoreFailures));
            if (failure.Fenced)
            {
                var leadership = context.RequestServices.GetRequiredService<CurrentLeadership>();
                leadership.Depose($"a write of term {leadership.Term} was refused by the store's fence: another aggregator was elected");
            }

            Refused(logger, context.Request.Method, context.Request.Path.Value ?? "", failure.Title, ex.Message);
            context.Response.Clear();
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: failure.Title, detail: failure.Detail).ExecuteAsync(context);
        }
    });

    /// <summary>What to answer for <paramref name="ex"/> (or what it wraps); null when it is not a store failure a retry may get past.</summary>
    internal static (bool Fenced, string Title, string Detail)? Describe(Exception ex)
    {
        for (var cause = ex; cause is not null; cause = cause.InnerException)
        {
            if (cause is PostgresException { SqlState: PostgresStateStore.FencedState })
            {
                return (true, "Not the leader",
                    "This aggregator is no longer the leader: another was elected, and the change was not made. Retry; any aggregator forwards the API to the new leader.");
            }

            if (cause is NpgsqlException { IsTransient: true })
            {
                return (false, "Store unavailable",
                    $"The state store could not be written ({cause.Message}), and the change was not made. Retry shortly.");
            }
        }

        return null;
    }

    [LoggerMessage(EventId = 1954, EventName = "ApiStoreWriteRefused", Level = LogLevel.Warning,
        Message = "{Method} {Path} answered 503 ({Title}): {Reason}")]
    private static partial void Refused(ILogger logger, string method, string path, string title, string reason);
}
