using System.Buffers;
using System.Text;
using Drover.Aggregator.Events;
using Drover.Protocol;
using Drover.Protocol.Events;
using Drover.Protocol.V1;
using Microsoft.AspNetCore.Http.Features;

namespace Drover.Aggregator.Api;

/// <summary>
/// <c>GET /v1/events</c>: the status messages of the event hub as server-sent events. Each message's
/// SSE id is the stream's <see cref="EventCursor"/>, so <c>Last-Event-ID</c> (or <c>?after=</c>)
/// resumes every channel after its number. At most <c>maxEventSubscribers</c> streams are open at
/// once; beyond it a new request is answered 503 with a problem naming the limit, and a
/// <c>Retry-After</c>.
/// </summary>
internal static partial class EventsApi
{
    public const int MaxChannelsPerFilter = 64;

    /// <summary>How often a comment line is sent on a quiet stream, so proxies and clients see it alive.</summary>
    public static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);

    /// <summary>What a request refused for the subscriber limit is told to wait before it tries again.</summary>
    public const int RetryAfterSeconds = 5;

    private static readonly byte[] KeepAlive = ": keep-alive\n\n"u8.ToArray();

    public static void MapEventsApi(this IEndpointRouteBuilder app) => app.MapGet("/v1/events", StreamAsync);

    private static async Task StreamAsync(HttpContext context, EventHub hub, TimeProvider time, ILoggerFactory loggers)
    {
        var (filter, cursor, parameter, error) = ParseRequest(context.Request);
        if (filter is null)
        {
            await Results.Problem(
                statusCode: StatusCodes.Status400BadRequest,
                title: "Invalid event stream request",
                detail: $"{parameter}: {error}",
                extensions: new Dictionary<string, object?> { ["parameter"] = parameter }).ExecuteAsync(context);
            return;
        }

        var subscriber = hub.TrySubscribe(filter, cursor);
        if (subscriber is null)
        {
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await Results.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "Too many event subscribers",
                detail: $"{hub.MaxSubscribers} event streams are open, the most this aggregator serves at once (maxEventSubscribers); retry later",
                extensions: new Dictionary<string, object?> { ["limit"] = "maxEventSubscribers", ["maxEventSubscribers"] = hub.MaxSubscribers }).ExecuteAsync(context);
            return;
        }

        using var subscribed = subscriber;
        var logger = loggers.CreateLogger(typeof(EventsApi).FullName!);
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var position = cursor ?? new EventCursor();
        using var writing = new SemaphoreSlim(1, 1);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        var keepAlive = KeepAliveAsync(response, writing, time, stop.Token);
        var buffer = new ArrayBufferWriter<byte>();
        try
        {
            await response.StartAsync(stop.Token);
            await response.Body.FlushAsync(stop.Token);
            await foreach (var numbered in subscriber.ReadAllAsync(stop.Token))
            {
                position.Advance(EventChannels.Of(numbered), numbered.Sequence);
                buffer.ResetWrittenCount();
                Format(buffer, numbered, position);
                await WriteAsync(response, writing, buffer.WrittenMemory, stop.Token);
            }

            if (subscriber.EndReason is { } reason)
            {
                // No id: the client's Last-Event-ID stays at the last message it got.
                Log.StreamEnded(logger, context.Connection.RemoteIpAddress?.ToString() ?? "", reason);
                buffer.ResetWrittenCount();
                buffer.Write(Encoding.UTF8.GetBytes($"event: disconnected\ndata: {{\"reason\":\"{JsonEncoded(reason)}\"}}\n\n"));
                await WriteAsync(response, writing, buffer.WrittenMemory, stop.Token);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (IOException)
        {
            // Its connection broke while a message was written.
        }
        finally
        {
            await stop.CancelAsync();
            await keepAlive;
        }
    }

    /// <summary>The filter and resume point of a request, or the parameter that is wrong and why.</summary>
    internal static (EventFilter? Filter, EventCursor? Cursor, string? Parameter, string? Error) ParseRequest(HttpRequest request)
    {
        var channels = new List<string>();
        foreach (var (parameter, make) in new (string, Func<string, string>)[] { ("function", EventChannels.Function), ("service", EventChannels.Service), ("cluster", EventChannels.Cluster), ("decisions", EventChannels.Decisions) })
        {
            foreach (var name in request.Query[parameter])
            {
                if (!Names.IsName(name))
                {
                    return (null, null, parameter, $"'{Cut(name ?? "")}' is not a name; expected 1-63 characters of a-z 0-9 - not starting with -");
                }

                channels.Add(make(name!));
            }
        }

        if (channels.Count > MaxChannelsPerFilter)
        {
            return (null, null, "function", $"{channels.Count} channels are named; expected at most {MaxChannelsPerFilter}");
        }

        string? callId = null;
        if (request.Query.TryGetValue("callId", out var callIds))
        {
            callId = callIds.Count == 1 ? callIds[0] : null;
            if (callId is null || callId.Length is 0 or > StatusEventValidator.MaxCallIdLength || callId.Any(c => c is < ' ' or > '~'))
            {
                return (null, null, "callId", $"expected one value of 1-{StatusEventValidator.MaxCallIdLength} printable ASCII characters");
            }
        }

        // A reconnecting EventSource sends Last-Event-ID with the URL it first used: the header is newer.
        EventCursor? cursor = null;
        var (source, text) = request.Headers.TryGetValue("Last-Event-ID", out var lastId)
            ? ("Last-Event-ID", lastId.ToString())
            : request.Query.TryGetValue("after", out var after) ? ("after", after.ToString()) : (null, null);
        if (source is not null)
        {
            (cursor, var error) = EventCursor.Parse(text);
            if (cursor is null)
            {
                return (null, null, source, error);
            }
        }

        return (new EventFilter(channels.Count == 0 ? null : channels.Distinct(StringComparer.Ordinal).ToList(), callId), cursor, null, null);
    }

    private static void Format(ArrayBufferWriter<byte> output, ChannelEvent numbered, EventCursor position)
    {
        output.Write("id: "u8);
        output.Write(Encoding.UTF8.GetBytes(position.ToString()));
        output.Write("\nevent: "u8);
        output.Write(Encoding.UTF8.GetBytes(StatusEventJson.EventName(numbered)));
        output.Write("\ndata: "u8);
        StatusEventJson.Write(output, numbered);
        output.Write("\n\n"u8);
    }

    private static async Task WriteAsync(HttpResponse response, SemaphoreSlim writing, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await writing.WaitAsync(cancellationToken);
        try
        {
            await response.Body.WriteAsync(bytes, cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
        }
        finally
        {
            writing.Release();
        }
    }

    private static async Task KeepAliveAsync(HttpResponse response, SemaphoreSlim writing, TimeProvider time, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(KeepAliveInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                await WriteAsync(response, writing, KeepAlive, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (IOException)
        {
            // The stream's own loop sees the broken connection too.
        }
    }

    private static string JsonEncoded(string value) => System.Text.Encodings.Web.JavaScriptEncoder.Default.Encode(value);

    private static string Cut(string value) => value.Length <= 40 ? value : value[..40] + "...";

    private static partial class Log
    {
        [LoggerMessage(EventId = 1703, EventName = "EventStreamEnded", Level = LogLevel.Information,
            Message = "The event stream of '{Client}' was ended: {Reason}.")]
        public static partial void StreamEnded(ILogger logger, string client, string reason);
    }
}
