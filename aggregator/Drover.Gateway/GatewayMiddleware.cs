using Drover.Decisions.Routing;
using Drover.Protocol.Http;
using Drover.Protocol.Security;
using Drover.Protocol.V1;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;

namespace Drover.Gateway;

/// <summary>
/// The gateway's step in YARP's proxy pipeline, in place of YARP's load balancing: refuses a caller
/// without the workload's key (401/403, <see cref="IGatewayAccess"/>, when the host has one); chooses the node
/// through <see cref="DroverLoadBalancingPolicy"/>, narrows <see cref="IReverseProxyFeature.AvailableDestinations"/>
/// to it and lets YARP forward; answers 503 itself when no node can serve; and retries once on another
/// node a request whose node failed before answering, when the request is idempotent and its body replayable.
/// </summary>
/// <remarks>
/// The retry re-invokes the rest of the pipeline (YARP's forwarder) after resetting the response, the
/// forwarder's error and the buffered body: the approach YARP's maintainers give for retries
/// (microsoft/reverse-proxy#56, #1451), since the forwarder itself never retries.
/// </remarks>
internal sealed partial class GatewayMiddleware
{
    private readonly RequestDelegate _next;
    private readonly DroverLoadBalancingPolicy _policy;
    private readonly GatewayRoutingTable _table;
    private readonly GatewayLoad _load;
    private readonly GatewayOptions _options;
    private readonly GatewayEjections _ejections;
    private readonly TimeProvider _time;
    private readonly ILogger<GatewayMiddleware> _logger;

    private readonly IGatewayAccess? _access;

    public GatewayMiddleware(RequestDelegate next, IEnumerable<ILoadBalancingPolicy> policies, GatewayRoutingTable table, GatewayLoad load, IOptions<GatewayOptions> options, GatewayEjections ejections, TimeProvider time, ILogger<GatewayMiddleware> logger, IGatewayAccess? access = null)
    {
        _access = access;
        _ejections = ejections;
        _time = time;
        _next = next;
        _policy = policies.OfType<DroverLoadBalancingPolicy>().First();
        _table = table;
        _load = load;
        _options = options.Value;
        _logger = logger;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var workload = GatewayRouteFeature.WorkloadOf(context);
        if (workload is null)
        {
            // Not one of the gateway's routes: YARP's defaults.
            await _next(context);
            return;
        }

        var proxy = context.GetReverseProxyFeature();
        var route = new GatewayRouteFeature(workload, _table.Current);
        context.Features.Set(route);
        if (_access is not null)
        {
            // Before a node is chosen: the answer is the same whether or not the workload exists.
            var key = context.Request.Headers[DroverHeaders.ApiKey].FirstOrDefault();
            var (kind, name) = GatewayRouteFeature.Split(workload);
            var verdict = _access.Check(kind, name, key);
            if (verdict != InvocationVerdict.Allowed)
            {
                var (status, detail) = InvocationKeys.Refusal(verdict, kind == WorkloadKind.Service ? "service" : "function");
                Log.Refused(_logger, workload, status, verdict, context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
                await WriteErrorAsync(context, route, status, new GatewayError(status == StatusCodes.Status401Unauthorized ? "unauthorized" : "forbidden", detail));
                return;
            }
        }
        var destinations = proxy.AvailableDestinations;

        var first = Choose(context, proxy, route, destinations);
        if (first is null)
        {
            var reason = route.Choice?.Reason ?? route.Table.Reason;
            Log.Unavailable(_logger, workload, reason);
            await WriteErrorAsync(context, route, StatusCodes.Status503ServiceUnavailable, new GatewayError("unavailable", reason));
            return;
        }

        var notRetryable = PrepareRetry(context.Request, workload);
        _load.EnterWorkload(workload);
        try
        {
            var failure = await ForwardAsync(context, first);
            if (failure is null)
            {
                return;
            }

            var failed = new List<string>(2) { first.DestinationId };
            var reason = Describe(first.DestinationId, failure);
            if (notRetryable is not null || !failure.BeforeAnswer)
            {
                await WriteFailureAsync(context, route, failure, failed, failure.BeforeAnswer ? $"{reason}; not retried: {notRetryable}" : reason);
                return;
            }

            Log.Retrying(_logger, first.DestinationId, context.Request.Method, workload, failure.Error.ToString());
            ResetForRetry(context);
            route.Failed = new HashSet<string>(StringComparer.Ordinal) { first.DestinationId };

            // A node that died took its stream to the aggregator with it: the health decision that
            // follows drops it (and its cluster, when below its threshold). Wait for that table, briefly.
            await WaitForTableWithoutAsync(first.DestinationId, context.RequestAborted);

            route.Table = _table.Current;
            var second = Choose(context, proxy, route, destinations);
            if (second is null)
            {
                await WriteFailureAsync(context, route, failure, failed, $"{reason}; no other node could take the retry: {route.Choice?.Reason}");
                return;
            }

            var retryFailure = await ForwardAsync(context, second);
            if (retryFailure is null)
            {
                return;
            }

            failed.Add(second.DestinationId);
            await WriteFailureAsync(context, route, retryFailure, failed, $"{reason}; retried on {Describe(second.DestinationId, retryFailure, ", which ")}");
        }
        finally
        {
            _load.ExitWorkload(workload);
        }
    }

    /// <summary>
    /// Waits, at most <see cref="GatewayOptions.RetryBackoffMs"/>, for a routing table that no longer
    /// routes to <paramref name="nodeId"/>; returns earlier when one comes. A node that is alive after
    /// all stays in the tables, and the retry goes on at the end of the wait (without that node).
    /// </summary>
    private async Task WaitForTableWithoutAsync(string nodeId, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var limit = TimeSpan.FromMilliseconds(_options.RetryBackoffMs);
        while (Routes(_table.Current, nodeId))
        {
            var left = limit - _time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                return;
            }

            await _table.WaitForUpdateAsync(left, _time, cancellationToken);
        }
    }

    private static bool Routes(RoutingTable table, string nodeId)
    {
        foreach (var cluster in table.Clusters)
        {
            foreach (var node in cluster.Nodes)
            {
                if (string.Equals(node.NodeId, nodeId, StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private DestinationState? Choose(HttpContext context, IReverseProxyFeature proxy, GatewayRouteFeature route, IReadOnlyList<DestinationState> destinations)
    {
        var chosen = _policy.PickDestination(context, proxy.Route.Cluster!, destinations);
        if (chosen is not null)
        {
            // A DestinationState is also the one-element list of itself.
            proxy.AvailableDestinations = chosen;
        }

        return chosen;
    }

    /// <summary>Forwards through the rest of YARP's pipeline; the failure when the node failed and the client is still there, else null.</summary>
    private async Task<Failure?> ForwardAsync(HttpContext context, DestinationState destination)
    {
        var workload = context.Features.Get<GatewayRouteFeature>()!.Workload;
        _load.EnterNode(destination.DestinationId);
        _load.EnterForward(workload);
        try
        {
            await _next(context);
        }
        finally
        {
            _load.ExitForward(workload);
            _load.ExitNode(destination.DestinationId);
        }

        if (context.Features.Get<IForwarderErrorFeature>() is not { } error || context.Response.HasStarted)
        {
            // Answered; or failed after the answer began, which YARP ends by resetting the stream.
            return null;
        }

        if (error.Error is ForwarderError.Request or ForwarderError.RequestBodyDestination)
        {
            _ejections.Failed(destination.DestinationId);
        }

        return error.Error switch
        {
            // Connect refused, reset, or the connection closed before a status line came back.
            ForwarderError.Request or ForwarderError.RequestBodyDestination => new Failure(error.Error, error.Exception, BeforeAnswer: true, StatusCodes.Status502BadGateway),
            ForwarderError.RequestTimedOut => new Failure(error.Error, error.Exception, BeforeAnswer: false, StatusCodes.Status504GatewayTimeout),
            ForwarderError.ResponseHeaders or ForwarderError.ResponseBodyDestination => new Failure(error.Error, error.Exception, BeforeAnswer: false, StatusCodes.Status502BadGateway),
            // The client went away or sent a bad body: YARP's status stands and nobody reads a body.
            _ => null,
        };
    }

    /// <summary>
    /// Whether the request may be sent twice: an idempotent method or an Idempotency-Key, and a body
    /// that is absent or of a known length within the limit (then buffered as it is read, to replay).
    /// </summary>
    /// <returns>Null when it may; else why not.</returns>
    private string? PrepareRetry(HttpRequest request, string workload)
    {
        var method = request.Method;
        var idempotent = HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsPut(method)
            || HttpMethods.IsDelete(method) || HttpMethods.IsOptions(method) || request.Headers.ContainsKey(DroverHeaders.IdempotencyKey);
        if (!idempotent)
        {
            return $"a {method} request without an {DroverHeaders.IdempotencyKey} header may not be sent twice";
        }

        var hasBody = request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? true;
        if (!hasBody || request.ContentLength == 0)
        {
            return null;
        }

        var why = request.ContentLength is not { } length ? "its body has no declared length, so it is not buffered for a replay"
            : length > _options.MaxRetryBodyBytes ? $"its body of {length} bytes is above the retry limit of {_options.MaxRetryBodyBytes} bytes"
            : null;
        if (why is not null)
        {
            Log.NotRetryable(_logger, method, workload, why);
            return why;
        }

        request.EnableBuffering(_options.RetryBodyMemoryBytes, _options.MaxRetryBodyBytes);
        return null;
    }

    private static void ResetForRetry(HttpContext context)
    {
        // The forwarder refuses a response that is already set (status 502 from the failure).
        context.Response.Clear();
        context.Features.Set<IForwarderErrorFeature>(null);
        if (context.Request.Body.CanSeek)
        {
            context.Request.Body.Position = 0;
        }
    }

    private async Task WriteFailureAsync(HttpContext context, GatewayRouteFeature route, Failure failure, List<string> failed, string reason)
    {
        Log.BadGateway(_logger, route.Workload, failure.Status, reason);
        var error = failure.Status == StatusCodes.Status504GatewayTimeout ? "gateway-timeout" : "bad-gateway";
        await WriteErrorAsync(context, route, failure.Status, new GatewayError(error, reason, failed[^1], failed));
    }

    private static async Task WriteErrorAsync(HttpContext context, GatewayRouteFeature route, int status, GatewayError body)
    {
        var response = context.Response;
        response.Clear();
        response.StatusCode = status;
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            response.Headers.RetryAfter = "1";
        }

        if (route.Table.Degraded)
        {
            response.Headers[DroverHeaders.Degraded] = "true";
        }

        await response.WriteAsJsonAsync(body, GatewayJsonContext.Default.GatewayError, contentType: null, context.RequestAborted);
    }

    /// <summary>"node 'x' failed before answering: why"; <paramref name="joiner"/> goes between the node and what it did.</summary>
    private static string Describe(string nodeId, Failure failure, string joiner = " ")
    {
        var what = failure.Error switch
        {
            ForwarderError.RequestTimedOut => "did not answer within the gateway's activity timeout",
            _ when failure.BeforeAnswer => "failed before answering",
            _ => "failed while answering",
        };
        return $"node '{nodeId}'{joiner}{what}: {Message(failure.Exception) ?? failure.Error.ToString()}";
    }

    /// <summary>The exception's messages, outermost first ("An error occurred while sending the request. (The response ended prematurely.)").</summary>
    private static string? Message(Exception? exception)
    {
        if (exception is null)
        {
            return null;
        }

        var message = exception.Message;
        for (var inner = exception.InnerException; inner is not null; inner = inner.InnerException)
        {
            message += $" ({inner.Message})";
        }

        return message;
    }

    private sealed record Failure(ForwarderError Error, Exception? Exception, bool BeforeAnswer, int Status);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1807, EventName = "GatewayInvocationRefused", Level = LogLevel.Warning,
            Message = "The gateway refuses a request for '{Workload}' from {Remote} with {Status}: {Verdict}.")]
        public static partial void Refused(ILogger logger, string workload, int status, InvocationVerdict verdict, string remote);

        [LoggerMessage(EventId = 1803, EventName = "GatewayRetrying", Level = LogLevel.Warning,
            Message = "Node '{NodeId}' failed before answering a {Method} request for '{Workload}' ({Error}); the gateway retries it once on another node.")]
        public static partial void Retrying(ILogger logger, string nodeId, string method, string workload, string error);

        [LoggerMessage(EventId = 1804, EventName = "GatewayBadGateway", Level = LogLevel.Warning,
            Message = "The gateway answers a request for '{Workload}' with {Status}: {Reason}.")]
        public static partial void BadGateway(ILogger logger, string workload, int status, string reason);

        [LoggerMessage(EventId = 1805, EventName = "GatewayUnavailable", Level = LogLevel.Debug,
            Message = "The gateway answers a request for '{Workload}' with 503: {Reason}.")]
        public static partial void Unavailable(ILogger logger, string workload, string reason);

        [LoggerMessage(EventId = 1806, EventName = "GatewayNotRetryable", Level = LogLevel.Debug,
            Message = "A {Method} request for '{Workload}' will not be retried if its node fails: {Why}.")]
        public static partial void NotRetryable(ILogger logger, string method, string workload, string why);
    }
}
