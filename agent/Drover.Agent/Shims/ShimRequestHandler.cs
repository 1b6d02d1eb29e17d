using Drover.Agent.Events;
using Drover.Agent.Instances;
using Drover.Agent.Link;
using Drover.Protocol;
using Drover.Protocol.Http;
using Drover.Protocol.Security;
using Drover.Protocol.V1;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Drover.Agent.Shims;

/// <summary>
/// The node port's two doors: <c>/v1/invoke/{function}</c> to this node's instances of a function,
/// <c>/v1/services/{service}/...</c> to a service instance here or, through its shim, on another node.
/// Every request passes its workload's gate (slots and queue), is counted, and produces status messages.
/// </summary>
internal sealed partial class ShimRequestHandler
{
    /// <summary>How long a failed forward waits for the supervisor to notice its instance's exit.</summary>
    private static readonly TimeSpan ExitNoticeWait = TimeSpan.FromMilliseconds(500);

    private readonly ShimWorkloads _workloads;
    private readonly ServiceRouteTables _routes;
    private readonly ServiceRouter _router;
    private readonly ShimForwarder _forwarder;
    private readonly StdioInvoker _stdio;
    private readonly IStatusEventSink _events;
    private readonly TimeProvider _time;
    private readonly ILogger<ShimRequestHandler> _logger;
    private readonly ShimCredential _credential;
    private readonly string _nodeId;

    public ShimRequestHandler(
        ShimWorkloads workloads,
        ServiceRouteTables routes,
        ServiceRouter router,
        ShimForwarder forwarder,
        StdioInvoker stdio,
        IStatusEventSink events,
        NodeHello hello,
        TimeProvider time,
        ILogger<ShimRequestHandler> logger,
        ShimCredential credential)
    {
        _credential = credential;
        _workloads = workloads;
        _routes = routes;
        _router = router;
        _forwarder = forwarder;
        _stdio = stdio;
        _events = events;
        _nodeId = hello.NodeId;
        _time = time;
        _logger = logger;
    }

    /// <summary>POST /v1/invoke/{function}/{**path}.</summary>
    public async Task InvokeFunctionAsync(HttpContext context, string function)
    {
        var start = await BeginAsync(context, WorkloadKey.Function(function), $"/v1/invoke/{function}", null, announce: true);
        if (start is not { } begun)
        {
            return;
        }

        var (call, workload, timeout) = begun;
        if (workload is null || workload.Instances.Count == 0)
        {
            // A name no instance ever had here is not counted: clients choose names, and counters would pile up.
            await FailAsync(context, call, workload ?? new ShimWorkload(call.Workload), StatusCodes.Status503ServiceUnavailable,
                $"function '{function}' has no instance on node '{_nodeId}'", retryAfter: 1);
            return;
        }

        await ServeLocalAsync(context, call, workload, null, timeout);
    }

    /// <summary>Any method on /v1/services/{service}/{**path}.</summary>
    public async Task ServeServiceAsync(HttpContext context, string service)
    {
        var table = Names.IsName(service) ? _routes.Find(service) : null;
        // Announced once the route is known: a request relayed to another node is reported there.
        var start = await BeginAsync(context, WorkloadKey.Service(service), $"/v1/services/{service}", table?.EventHeaders, announce: false, table?.Routes);
        if (start is not { } begun)
        {
            return;
        }

        var (call, workload, timeout) = begun;

        // Counted when known here: an instance ran here, or the aggregator sent a table for it.
        var counters = workload ?? (table is not null ? _workloads.GetOrAdd(call.Workload) : new ShimWorkload(call.Workload));

        // Sent here by another node's shim: only that instance may serve it, and never elsewhere. A
        // client may not pin an instance: the header counts only with the fleet's shim credential.
        if (context.Request.Headers[DroverHeaders.RouteInstance] is { Count: > 0 } routed)
        {
            if (!_credential.Matches(context.Request.Headers[DroverHeaders.ShimCredential].FirstOrDefault()))
            {
                Log.RoutingHeaderRefused(_logger, service, context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
                await FailAsync(context, call, counters, StatusCodes.Status403Forbidden,
                    $"{DroverHeaders.RouteInstance} is honoured only from another node's shim (with the fleet's shim credential)");
                return;
            }

            var instanceId = routed[0] ?? "";
            if (workload?.Instances.GetValueOrDefault(instanceId) is not { } supervisor)
            {
                await FailAsync(context, call, counters, StatusCodes.Status503ServiceUnavailable,
                    $"instance '{instanceId}' of service '{service}' does not run on node '{_nodeId}'", retryAfter: 1);
                return;
            }

            await ServeLocalAsync(context, call, workload, supervisor.Traffic, timeout);
            return;
        }

        if (table is null || table.Routes.Routes.Count == 0)
        {
            if (workload is null || workload.Instances.Count == 0)
            {
                await FailAsync(context, call, counters, StatusCodes.Status503ServiceUnavailable,
                    $"service '{service}' has no routes and no instance on node '{_nodeId}'", retryAfter: 1);
                return;
            }

            await ServeLocalAsync(context, call, workload, null, timeout);
            return;
        }

        var key = await RoutingKeyReader.ReadAsync(context.Request, table.Routes.RoutingField, context.RequestAborted);
        var route = _router.Choose(table, key, key is not null, _routes.InFlight)!;
        _routes.Enter(route.InstanceId);
        try
        {
            if (route.NodeId == _nodeId)
            {
                if (workload?.Instances.GetValueOrDefault(route.InstanceId) is not { } local)
                {
                    await FailAsync(context, call, counters, StatusCodes.Status503ServiceUnavailable,
                        $"instance '{route.InstanceId}' of service '{service}' is routed to node '{_nodeId}' but does not run here", retryAfter: 1);
                    return;
                }

                await ServeLocalAsync(context, call, workload, local.Traffic, timeout);
                return;
            }

            await ForwardToNodeAsync(context, call, counters, route, timeout);
        }
        finally
        {
            _routes.Exit(route.InstanceId);
        }
    }

    /// <summary>
    /// Checks what every request must carry and announces it (accepted); null when answered already
    /// (400, or 404 for a name that cannot be one).
    /// </summary>
    private async Task<(ShimCall Call, ShimWorkload? Workload, TimeSpan Timeout)?> BeginAsync(HttpContext context, WorkloadKey key, string prefix, IReadOnlyList<string>? tableEventHeaders, bool announce, SetServiceRoutes? table = null)
    {
        ShimCall? call = null;
        var (callId, callIdError) = ShimHeaders.ParseCallId(context.Request.Headers[DroverHeaders.CallId].ToString());
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            // A response relayed from another node keeps that node's id; everything else is ours.
            headers.TryAdd(DroverHeaders.Node, _nodeId);

            if (callId is not null)
            {
                headers[DroverHeaders.CallId] = callId;
            }

            if (call?.InstanceId is { } instanceId)
            {
                headers[DroverHeaders.Instance] = instanceId;
            }

            return Task.CompletedTask;
        });

        if (callIdError is not null)
        {
            await ShimErrors.WriteAsync(context, StatusCodes.Status400BadRequest, "", _nodeId, null, callIdError);
            return null;
        }

        if (!Names.IsName(key.Name))
        {
            await ShimErrors.WriteAsync(context, StatusCodes.Status404NotFound, callId!, _nodeId, null,
                $"'{Truncate(key.Name)}' is not a {(key.Kind == WorkloadKind.Service ? "service" : "function")} name; expected 1-63 characters of a-z 0-9 -, not starting with -");
            return null;
        }

        var workload = _workloads.Find(key);

        // Who may call: the gateway and other nodes' shims (the fleet's credential), anyone for a
        // public workload, and otherwise a caller presenting one of its keys, as the service's routing
        // table or the workload's spec says. With neither here, only the credential passes, and the
        // refusal is the same as for a private workload.
        if (!_credential.Matches(context.Request.Headers[DroverHeaders.ShimCredential].FirstOrDefault()))
        {
            var (isPublic, hashes) = table is not null ? (table.Public, table.KeySha256)
                : workload is not null ? (workload.Shim.Public, workload.Shim.KeySha256)
                : (false, (IEnumerable<string>)[]);
            var verdict = InvocationKeys.Check(isPublic, hashes, context.Request.Headers[DroverHeaders.ApiKey].FirstOrDefault());
            if (verdict != InvocationVerdict.Allowed)
            {
                var (status, detail) = InvocationKeys.Refusal(verdict, key.Kind == WorkloadKind.Service ? "service" : "function");
                Log.InvocationRefused(_logger, key.Name, context.Connection.RemoteIpAddress?.ToString() ?? "unknown", status, verdict);
                await ShimErrors.WriteAsync(context, status, callId!, _nodeId, null, detail);
                return null;
            }
        }

        var limit = workload?.Timeout ?? ShimWorkload.DefaultTimeout;
        var (timeout, timeoutError) = ShimHeaders.ParseTimeout(context.Request.Headers[DroverHeaders.TimeoutMs].ToString(), limit);
        if (timeoutError is not null)
        {
            await ShimErrors.WriteAsync(context, StatusCodes.Status400BadRequest, callId!, _nodeId, null, timeoutError);
            return null;
        }

        var eventHeaders = tableEventHeaders ?? (IReadOnlyList<string>?)workload?.Shim.EventHeaders ?? [];
        var copied = new List<KeyValuePair<string, string>>();
        foreach (var name in eventHeaders)
        {
            if (context.Request.Headers.TryGetValue(name, out var value))
            {
                copied.Add(new(name, value.ToString()));
            }
        }

        // The rest of the path as it came (escaped again), not the decoded route value: "a%3Fb" must
        // stay one segment, not become a query.
        var rest = context.Request.Path.ToUriComponent()[prefix.Length..];
        var instancePath = (rest.Length == 0 ? "/" : rest) + context.Request.QueryString.ToUriComponent();
        call = new ShimCall(key, callId!, _nodeId, context.Request.Method, instancePath, copied, _events, _time);
        if (announce)
        {
            call.Accepted();
        }

        return (call, workload, timeout!.Value);
    }

    /// <summary>Through the gate to one of this node's instances (any, or <paramref name="target"/>), then to it.</summary>
    private async Task ServeLocalAsync(HttpContext context, ShimCall call, ShimWorkload workload, InstanceTraffic? target, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, context.RequestAborted);
        call.Accepted();
        var entry = await workload.Gate.EnterAsync(target, linked.Token);
        switch (entry.Outcome)
        {
            case GateOutcome.NoInstance:
                await FailAsync(context, call, workload, StatusCodes.Status503ServiceUnavailable,
                    target is null
                        ? $"{Describe(call.Workload)} has no ready instance on node '{_nodeId}'"
                        : $"instance '{target.InstanceId}' of {Describe(call.Workload)} is not ready on node '{_nodeId}'",
                    retryAfter: 1);
                return;
            case GateOutcome.QueueFull:
                await FailAsync(context, call, workload, StatusCodes.Status429TooManyRequests,
                    $"every instance of {Describe(call.Workload)} on node '{_nodeId}' is busy and its queue of {workload.Gate.QueueLength} is full",
                    retryAfter: workload.RetryAfterSeconds(), outcome: GateOutcome.QueueFull);
                return;
            case GateOutcome.TimedOut when !deadline.IsCancellationRequested:
                ClientLeft(call, workload);
                return;
            case GateOutcome.TimedOut:
                await TimedOutAsync(context, call, workload, $"the request waited in the queue of {Describe(call.Workload)} past its timeout of {(long)timeout.TotalMilliseconds} ms");
                return;
        }

        var traffic = entry.Instance!;
        try
        {
            if (workload.Supervisor(traffic) is not { } supervisor)
            {
                await FailAsync(context, call, workload, StatusCodes.Status503ServiceUnavailable,
                    $"instance '{traffic.InstanceId}' stopped before the request reached it", retryAfter: 1);
                return;
            }

            call.Started(traffic.InstanceId);
            if (InstanceSupervisor.IsStdio(supervisor.Spec))
            {
                await InvokeStdioAsync(context, call, workload, supervisor, deadline.Token, timeout);
            }
            else
            {
                await ForwardToInstanceAsync(context, call, workload, supervisor, deadline.Token, linked.Token, timeout);
            }
        }
        finally
        {
            workload.Gate.Exit(traffic);
        }
    }

    private async Task ForwardToInstanceAsync(HttpContext context, ShimCall call, ShimWorkload workload, InstanceSupervisor supervisor, CancellationToken deadline, CancellationToken linked, TimeSpan timeout)
    {
        var pid = supervisor.CurrentPid;
        var target = new Uri($"http://127.0.0.1:{supervisor.Port}{call.InstancePath}");
        var error = await _forwarder.ForwardAsync(context, target, call.CallId, null, timeout, linked);
        if (await SettledAsync(context, call, workload, error, deadline, $"instance '{supervisor.InstanceId}' did not answer within the request's timeout of {(long)timeout.TotalMilliseconds} ms"))
        {
            return;
        }

        var reason = await DescribeInstanceFailureAsync(context, supervisor, pid, error);
        Log.InstanceFailed(_logger, call.CallId, supervisor.InstanceId, reason);
        await FailAsync(context, call, workload, StatusCodes.Status502BadGateway, reason);
    }

    private async Task InvokeStdioAsync(HttpContext context, ShimCall call, ShimWorkload workload, InstanceSupervisor supervisor, CancellationToken deadline, TimeSpan timeout)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["DROVER_CALL_ID"] = call.CallId,
            ["DROVER_HTTP_METHOD"] = call.Method,
            ["DROVER_HTTP_PATH"] = call.InstancePath,
        };
        var result = await _stdio.InvokeAsync(supervisor, context.Request.Body, environment, deadline, context.RequestAborted);
        switch (result.Outcome)
        {
            case StdioOutcome.Succeeded:
                context.Response.StatusCode = StatusCodes.Status200OK;
                context.Response.ContentType = StdioContentType(context.Request.Headers.Accept.ToString());
                context.Response.ContentLength = result.Output.Length;
                try
                {
                    await context.Response.Body.WriteAsync(result.Output, context.RequestAborted);
                }
                catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
                {
                    ClientLeft(call, workload);
                    return;
                }

                workload.RecordCompleted(call.ElapsedMs);
                call.Completed(StatusCodes.Status200OK);
                return;
            case StdioOutcome.TimedOut:
                await TimedOutAsync(context, call, workload, $"instance '{supervisor.InstanceId}': {result.Reason} ({(long)timeout.TotalMilliseconds} ms)");
                return;
            case StdioOutcome.Aborted:
                ClientLeft(call, workload);
                return;
            default:
                var reason = $"instance '{supervisor.InstanceId}': {result.Reason}";
                Log.InstanceFailed(_logger, call.CallId, supervisor.InstanceId, reason);
                await FailAsync(context, call, workload, StatusCodes.Status502BadGateway, reason);
                return;
        }
    }

    private async Task ForwardToNodeAsync(HttpContext context, ShimCall call, ShimWorkload counters, ServiceRoute route, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, context.RequestAborted);
        call.Relay(route.InstanceId);
        var target = new Uri($"http://{route.Address}/v1/services/{call.Workload.Name}{call.InstancePath}");
        var error = await _forwarder.ForwardAsync(context, target, call.CallId, route.InstanceId, timeout, linked.Token, remaining: timeout - TimeSpan.FromMilliseconds(call.ElapsedMs));
        if (await SettledAsync(context, call, counters, error, deadline.Token, $"node '{route.NodeId}' at {route.Address} did not answer for instance '{route.InstanceId}' within {(long)timeout.TotalMilliseconds} ms"))
        {
            return;
        }

        var cause = context.Features.Get<IForwarderErrorFeature>()?.Exception?.Message ?? error.ToString();
        var reason = $"node '{route.NodeId}' at {route.Address} failed before answering for instance '{route.InstanceId}': {cause}";
        Log.NodeFailed(_logger, call.CallId, route.NodeId, reason);
        await FailAsync(context, call, counters, StatusCodes.Status502BadGateway, reason);
    }

    /// <summary>
    /// Settles a forward that succeeded, timed out or lost its client; false when it failed otherwise
    /// (the caller says why, naming what failed).
    /// </summary>
    private async Task<bool> SettledAsync(HttpContext context, ShimCall call, ShimWorkload workload, ForwarderError error, CancellationToken deadline, string timeoutReason)
    {
        if (error == ForwarderError.None)
        {
            workload.RecordCompleted(call.ElapsedMs);
            call.Completed(context.Response.StatusCode);
            return true;
        }

        if (deadline.IsCancellationRequested)
        {
            await TimedOutAsync(context, call, workload, timeoutReason);
            return true;
        }

        if (context.RequestAborted.IsCancellationRequested || error is ForwarderError.RequestBodyClient or ForwarderError.ResponseBodyClient or ForwarderError.UpgradeResponseClient)
        {
            ClientLeft(call, workload);
            return true;
        }

        return false;
    }

    /// <summary>
    /// Why a forward to an instance failed, in a sentence: what the connection did and, when its
    /// process died, how (the supervisor's account, waited for briefly).
    /// </summary>
    private async Task<string> DescribeInstanceFailureAsync(HttpContext context, InstanceSupervisor supervisor, int pid, ForwarderError error)
    {
        var what = error switch
        {
            ForwarderError.Request => "closed the connection or could not be reached",
            ForwarderError.RequestTimedOut => "stopped answering",
            _ => "broke off its answer",
        };
        var started = _time.GetTimestamp();
        while (pid != 0 && supervisor.LastEnded.Pid != pid && _time.GetElapsedTime(started) < ExitNoticeWait)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), _time, CancellationToken.None);
        }

        if (pid != 0 && supervisor.LastEnded is { Pid: var ended, Exit: var exit } && ended == pid)
        {
            return $"instance '{supervisor.InstanceId}' {what}: its process {pid} {exit}";
        }

        var cause = context.Features.Get<IForwarderErrorFeature>()?.Exception?.Message;
        return cause is null ? $"instance '{supervisor.InstanceId}' {what}" : $"instance '{supervisor.InstanceId}' {what} ({cause})";
    }

    private Task TimedOutAsync(HttpContext context, ShimCall call, ShimWorkload workload, string reason)
        => FailAsync(context, call, workload, StatusCodes.Status504GatewayTimeout, reason, outcome: GateOutcome.TimedOut);

    private async Task FailAsync(HttpContext context, ShimCall call, ShimWorkload workload, int statusCode, string reason, int? retryAfter = null, GateOutcome? outcome = null)
    {
        workload.RecordFailed(outcome);
        call.Failed(statusCode, reason);
        try
        {
            await ShimErrors.WriteAsync(context, statusCode, call.CallId, _nodeId, call.InstanceId, reason, retryAfter);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // The client left while its error was written.
        }
    }

    /// <summary>499, as nginx names it: the client closed the request before the answer.</summary>
    private static void ClientLeft(ShimCall call, ShimWorkload workload)
    {
        workload.RecordFailed();
        if (!call.Relayed)
        {
            // A relayed call's other node sees its client (this node) leave, and reports it.
            call.Failed(499, "the client closed the request before it was answered");
        }
    }

    /// <summary>application/octet-stream, unless the client's Accept names a text type.</summary>
    public static string StdioContentType(string accept)
    {
        foreach (var part in accept.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var type = part.Split(';', 2)[0].Trim();
            if (type.StartsWith("text/", StringComparison.OrdinalIgnoreCase))
            {
                return (type == "text/*" ? "text/plain" : type.ToLowerInvariant()) + "; charset=utf-8";
            }
        }

        return "application/octet-stream";
    }

    private static string Describe(WorkloadKey key) => key.Kind == WorkloadKind.Service ? $"service '{key.Name}'" : $"function '{key.Name}'";

    private static string Truncate(string value) => value.Length <= 64 ? value : string.Concat(value.AsSpan(0, 64), "...");

    private static partial class Log
    {
        [LoggerMessage(EventId = 3010, EventName = "ShimInstanceFailed", Level = LogLevel.Warning,
            Message = "Call '{CallId}' to instance '{InstanceId}' failed: {Reason}.")]
        public static partial void InstanceFailed(ILogger logger, string callId, string instanceId, string reason);

        [LoggerMessage(EventId = 3011, EventName = "ShimNodeFailed", Level = LogLevel.Warning,
            Message = "Call '{CallId}' forwarded to node '{NodeId}' failed: {Reason}.")]
        public static partial void NodeFailed(ILogger logger, string callId, string nodeId, string reason);

        [LoggerMessage(EventId = 3012, EventName = "ShimRoutingHeaderRefused", Level = LogLevel.Warning,
            Message = "A request for service '{Service}' from {Remote} named an instance (X-Drover-Route-Instance) without the fleet's shim credential: refused 403.")]
        public static partial void RoutingHeaderRefused(ILogger logger, string service, string remote);

        [LoggerMessage(EventId = 3013, EventName = "ShimInvocationRefused", Level = LogLevel.Warning,
            Message = "A request for '{Workload}' from {Remote} is refused {Status}: {Verdict} (neither public, nor one of its keys in X-Drover-Api-Key, nor the fleet's shim credential).")]
        public static partial void InvocationRefused(ILogger logger, string workload, string remote, int status, InvocationVerdict verdict);
    }
}
