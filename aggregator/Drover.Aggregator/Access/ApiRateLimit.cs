using System.Globalization;
using System.Threading.RateLimiting;
using Drover.Aggregator.Configuration;

namespace Drover.Aggregator.Access;

/// <summary>
/// The management API's rate limit: each client address may send <c>apiRequestsPerMinute</c>
/// requests a minute (a fixed window), refused or not, so that neither a script gone wrong nor a
/// token guesser can keep the aggregator busy. Beyond it: 429 problem details with <c>Retry-After</c>.
/// The gateway and the agent link are not limited here.
/// </summary>
internal static partial class ApiRateLimit
{
    /// <summary>The rate-limiting policy the management endpoints require.</summary>
    public const string Policy = "drover-management-api";

    public static IServiceCollection AddDroverApiRateLimit(this IServiceCollection services, AggregatorOptions options)
    {
        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(Policy, context => options.ApiRequestsPerMinute == 0
                ? RateLimitPartition.GetNoLimiter("unlimited")
                : RateLimitPartition.GetFixedWindowLimiter(
                    context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = options.ApiRequestsPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                var http = rejected.HttpContext;
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)) : 60;
                http.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
                var peer = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
                Limited(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ApiRateLimit)), http.Request.Method, http.Request.Path.Value ?? "", peer, options.ApiRequestsPerMinute);
                await Results.Problem(
                    statusCode: StatusCodes.Status429TooManyRequests,
                    title: "Too many requests",
                    detail: $"'{peer}' sent more than {options.ApiRequestsPerMinute} management API requests this minute (apiRequestsPerMinute); retry after {retryAfter} s.")
                    .ExecuteAsync(http);
            };
        });
        return services;
    }

    [LoggerMessage(EventId = 1506, EventName = "ApiRateLimited", Level = LogLevel.Warning,
        Message = "{Method} '{Path}' from '{Peer}' was refused 429: more than {Limit} management API requests this minute.")]
    private static partial void Limited(ILogger logger, string method, string path, string peer, int limit);
}
