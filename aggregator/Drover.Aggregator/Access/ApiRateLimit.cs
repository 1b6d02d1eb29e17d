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

    /// <summary>
    /// The header a follower adds to the management API requests it forwards to the leader (several aggregators on
    /// PostgreSQL), holding the aggregators' forwarding secret: the follower limits each client itself, so the leader
    /// does not count its forwarded requests as one client's.
    /// </summary>
    public const string ForwardedByHeader = "X-Drover-Forwarded-By";

    /// <summary>
    /// The management API's policy. <c>forwardingSecret</c> gives, per request, the aggregators' forwarding secret
    /// (several aggregators) or null (one): a request that carries it in <see cref="ForwardedByHeader"/> was limited by
    /// the follower that forwarded it, and is not limited again.
    /// </summary>
    public static IServiceCollection AddDroverApiRateLimit(this IServiceCollection services, AggregatorOptions options, Func<HttpContext, string?>? forwardingSecret = null)
    {
        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(Policy, context => forwardingSecret?.Invoke(context) is { } secret && ForwardedBy(context, secret)
                ? RateLimitPartition.GetNoLimiter("forwarded by a follower")
                : PerClient(context, options));
            limiter.OnRejected = (rejected, _) => RefuseAsync(rejected.HttpContext, rejected.Lease, options);
        });
        return services;
    }

    /// <summary>A client address's window (or none when <c>apiRequestsPerMinute</c> is 0): the leader's and a follower's alike.</summary>
    public static RateLimitPartition<string> PerClient(HttpContext context, AggregatorOptions options) => options.ApiRequestsPerMinute == 0
        ? RateLimitPartition.GetNoLimiter("unlimited")
        : RateLimitPartition.GetFixedWindowLimiter(
            context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
            _ => new FixedWindowRateLimiterOptions { PermitLimit = options.ApiRequestsPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });

    /// <summary>Answers a request over the limit: 429 problem details with <c>Retry-After</c>, logged.</summary>
    public static async ValueTask RefuseAsync(HttpContext http, RateLimitLease lease, AggregatorOptions options)
    {
        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)) : 60;
        http.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        var peer = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        Limited(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ApiRateLimit)), http.Request.Method, http.Request.Path.Value ?? "", peer, options.ApiRequestsPerMinute);
        await Results.Problem(
            statusCode: StatusCodes.Status429TooManyRequests,
            title: "Too many requests",
            detail: $"'{peer}' sent more than {options.ApiRequestsPerMinute} management API requests this minute (apiRequestsPerMinute); retry after {retryAfter} s.")
            .ExecuteAsync(http);
    }

    private static bool ForwardedBy(HttpContext context, string secret)
        => context.Request.Headers[ForwardedByHeader] is [{ } sent]
            && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(sent), System.Text.Encoding.UTF8.GetBytes(secret));

    [LoggerMessage(EventId = 1506, EventName = "ApiRateLimited", Level = LogLevel.Warning,
        Message = "{Method} '{Path}' from '{Peer}' was refused 429: more than {Limit} management API requests this minute.")]
    private static partial void Limited(ILogger logger, string method, string path, string peer, int limit);
}
