using System.IO.Pipelines;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Drover.Agent.Events;
using Drover.Agent.LocalSocket.V1;
using Drover.Protocol.V1;

namespace Drover.Agent.LocalSocket;

/// <summary>
/// One instance's connection to the local socket: a Register first, then reports and commit
/// requests, each answered in order. Returns when the connection should close: the peer ended it,
/// or sent something that ends it (see the error codes in local_socket.proto). I/O failures
/// propagate to the server, which owns the socket.
/// </summary>
/// <remarks>
/// Once subscribed, the channel's Events are pushed by a pump of their own through a bounded queue,
/// so a slow instance never holds up the relay; every frame (reply or Event) is written whole under
/// one lock. A queue that fills closes the connection with Error <c>unavailable</c>.
/// </remarks>
internal sealed partial class LocalSocketConnection
{
    public const int MaxInstanceIdLength = 128;
    public const int MaxTokenLength = 256;
    public const int MaxGpusPerReport = 64;
    public const int MaxGpuUuidLength = 96;

    /// <summary>The longest error text sent back: values quoted in it are cut shorter still.</summary>
    private const int MaxErrorLength = 1024;
    private const int MaxQuotedLength = 100;

    /// <summary>How long the Error of a connection that fell behind may take to write before the connection is closed without it.</summary>
    private static readonly TimeSpan BehindReplyTimeout = TimeSpan.FromSeconds(2);

    private readonly long _id;
    private readonly PipeWriter _output;
    private readonly FrameReader<InstanceFrame> _frames;
    private readonly LocalSocketOptions _options;
    private readonly string _nodeId;
    private readonly IInstanceAuthenticator _authenticator;
    private readonly IGpuWorkSink _gpuWork;

    /// <summary>The GPUs an instance may report work for (those it was given), by instance id; null checks nothing.</summary>
    private readonly Func<string, IReadOnlyCollection<string>?>? _gpusOf;
    private readonly ICommitRequester? _commits;
    private readonly Action<string> _onRegistered;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly IEventSubscriptions? _events;
    private readonly Func<string, string?>? _channelOf;

    // One frame at a time on the output: replies from the read loop, Events from the pump.
    private readonly SemaphoreSlim _writing = new(1, 1);

    // Cancelled to end the connection from outside the read loop: the Events fell behind, or the pump failed.
    private readonly CancellationTokenSource _stop = new();
    private EventFeed? _feed;
    private IDisposable? _subscription;
    private Task _pump = Task.CompletedTask;
    private Exception? _pumpError;
    private volatile bool _behind;

    // A write was cancelled part-way: the output may hold half a frame, so nothing more is written.
    private bool _torn;

    // Started with the connection, not with the first read: the time to register runs from accept.
    private readonly CancellationTokenSource _registerDeadline;

    public LocalSocketConnection(
        long id,
        PipeReader input,
        PipeWriter output,
        LocalSocketOptions options,
        string nodeId,
        IInstanceAuthenticator authenticator,
        IGpuWorkSink gpuWork,
        ICommitRequester? commits,
        Action<string> onRegistered,
        TimeProvider time,
        ILogger logger,
        IEventSubscriptions? events = null,
        Func<string, string?>? channelOf = null,
        Func<string, IReadOnlyCollection<string>?>? gpusOf = null)
    {
        _id = id;
        _gpusOf = gpusOf;
        _output = output;
        _frames = new FrameReader<InstanceFrame>(input, InstanceFrame.Parser, options.MaxFrameSize);
        _options = options;
        _nodeId = nodeId;
        _authenticator = authenticator;
        _gpuWork = gpuWork;
        _commits = commits;
        _onRegistered = onRegistered;
        _logger = logger;
        _time = time;
        _events = events;
        _channelOf = channelOf;
        _registerDeadline = new CancellationTokenSource(options.RegisterTimeout, time);
    }

    /// <summary>The registered instance's id; null until a Register is accepted.</summary>
    public string? InstanceId { get; private set; }

    /// <summary>Serves the connection until it should close. <paramref name="cancellationToken"/> is the agent stopping.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var scope = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        try
        {
            await ServeAsync(scope.Token);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            await StopEventsAsync();
            if (_pumpError is not null)
            {
                ExceptionDispatchInfo.Throw(_pumpError);
            }

            await SendBehindAsync(cancellationToken);
        }
        finally
        {
            await StopEventsAsync();
        }
    }

    private async Task ServeAsync(CancellationToken cancellationToken)
    {
        FrameReadResult<InstanceFrame> first;
        using (var registerScope = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _registerDeadline.Token))
        {
            try
            {
                first = await _frames.ReadAsync(registerScope.Token);
            }
            catch (OperationCanceledException) when (_registerDeadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                var seconds = _options.RegisterTimeout.TotalSeconds;
                Log.RegisterTimedOut(_logger, _id, seconds);
                await ReplyAsync(Error(0, ErrorCodes.Unauthenticated, $"no register frame within {seconds} s of connecting"), cancellationToken);
                return;
            }
        }

        var read = first;
        while (await HandleAsync(read, cancellationToken))
        {
            read = await _frames.ReadAsync(cancellationToken);
        }
    }

    public void Dispose()
    {
        _registerDeadline.Dispose();
        _stop.Dispose();
        _writing.Dispose();
    }

    /// <summary>
    /// Checks a report against the contract's limits: the error text naming the field, the value and
    /// what would be accepted, or null when the report is valid.
    /// </summary>
    public static string? Validate(ReportGpuWork report)
    {
        if (report.Gpus.Count > MaxGpusPerReport)
        {
            return $"report_gpu_work.gpus has {report.Gpus.Count} entries; expected at most {MaxGpusPerReport}";
        }

        var seen = new HashSet<string>(report.Gpus.Count, StringComparer.Ordinal);
        for (var i = 0; i < report.Gpus.Count; i++)
        {
            var uuid = report.Gpus[i].GpuUuid;
            if (!IsValidGpuUuid(uuid))
            {
                return $"report_gpu_work.gpus[{i}].gpu_uuid = '{Quote(uuid)}'; expected 1-{MaxGpuUuidLength} printable ASCII characters without spaces";
            }

            if (!seen.Add(uuid))
            {
                return $"report_gpu_work.gpus[{i}].gpu_uuid = '{uuid}' is named twice in one report; expected each GPU at most once";
            }
        }

        return null;
    }

    /// <summary>
    /// Null when every GPU the report names is one of <paramref name="given"/> (or nothing is checked);
    /// else the first that is not: an instance counts work only on its own GPUs, so it cannot move the
    /// command-queue length, and with it the autoscaler's choice, of a GPU it was not given.
    /// </summary>
    public static string? NotGiven(ReportGpuWork report, IReadOnlyCollection<string>? given)
    {
        if (given is null)
        {
            return null;
        }

        for (var i = 0; i < report.Gpus.Count; i++)
        {
            var uuid = report.Gpus[i].GpuUuid;
            if (!given.Contains(uuid))
            {
                return given.Count == 0
                    ? $"report_gpu_work.gpus[{i}].gpu_uuid = '{uuid}' is not a GPU of this instance; it was given none"
                    : $"report_gpu_work.gpus[{i}].gpu_uuid = '{uuid}' is not a GPU of this instance; expected one of {string.Join(", ", given.Order(StringComparer.Ordinal))}";
            }
        }

        return null;
    }

    private static bool IsValidGpuUuid(string uuid)
    {
        if (uuid.Length is 0 or > MaxGpuUuidLength)
        {
            return false;
        }

        foreach (var c in uuid)
        {
            if (c is < '!' or > '~')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Handles one read; false when the connection should close.</summary>
    private async ValueTask<bool> HandleAsync(FrameReadResult<InstanceFrame> read, CancellationToken cancellationToken)
    {
        switch (read.Status)
        {
            case FrameReadStatus.End:
                return false;
            case FrameReadStatus.Truncated:
                // The peer has stopped sending; it may still read why its frame was dropped.
                await FailAsync(0, ErrorCodes.Malformed, read.Detail!, cancellationToken);
                return false;
            case FrameReadStatus.Oversized:
                await FailAsync(0, ErrorCodes.Oversized, $"the frame's length is {read.Length} bytes; expected at most {_options.MaxFrameSize}", cancellationToken);
                return false;
            case FrameReadStatus.Malformed:
                await FailAsync(0, ErrorCodes.Malformed, $"the frame of {read.Length} bytes is not a valid InstanceFrame ({read.Detail})", cancellationToken);
                return false;
        }

        var frame = read.Message!;
        var requestId = frame.RequestId;
        if (InstanceId is null)
        {
            if (frame.KindCase != InstanceFrame.KindOneofCase.Register)
            {
                await FailAsync(requestId, ErrorCodes.OutOfOrder, $"the first frame must be register; got {KindName(frame.KindCase)}", cancellationToken);
                return false;
            }

            return await RegisterAsync(requestId, frame.Register, cancellationToken);
        }

        switch (frame.KindCase)
        {
            case InstanceFrame.KindOneofCase.Register:
                await FailAsync(requestId, ErrorCodes.OutOfOrder, $"this connection is already registered as instance '{InstanceId}'; register comes once, first", cancellationToken);
                return false;
            case InstanceFrame.KindOneofCase.ReportGpuWork:
                var invalid = Validate(frame.ReportGpuWork) ?? NotGiven(frame.ReportGpuWork, _gpusOf?.Invoke(InstanceId));
                if (invalid is not null)
                {
                    Log.FrameRejected(_logger, _id, InstanceId, ErrorCodes.Invalid, invalid);
                    await ReplyAsync(Error(requestId, ErrorCodes.Invalid, invalid), cancellationToken);
                    return true;
                }

                foreach (var gpu in frame.ReportGpuWork.Gpus)
                {
                    _gpuWork.Report(InstanceId, gpu.GpuUuid, gpu.Submitted, gpu.Completed);
                }

                await ReplyAsync(new AgentFrame { RequestId = requestId, Ack = new Ack() }, cancellationToken);
                return true;
            case InstanceFrame.KindOneofCase.Subscribe:
                return await SubscribeAsync(requestId, InstanceId, frame.Subscribe, cancellationToken);
            case InstanceFrame.KindOneofCase.CommitNow:
                var outcome = await CommitAsync(InstanceId, cancellationToken);
                await ReplyAsync(
                    new AgentFrame
                    {
                        RequestId = requestId,
                        CommitResult = new CommitResult
                        {
                            Ok = outcome.Ok,
                            Version = outcome.Ok ? outcome.Version : 0,
                            Error = outcome.Ok ? "" : Cut(outcome.Error ?? "the commit failed", MaxErrorLength),
                        },
                    },
                    cancellationToken);
                return true;
            default:
                // Also what a newer instance's unknown kind parses as.
                const string noKind = "the frame has no kind known to this agent; expected register, report_gpu_work, commit_now or subscribe";
                Log.FrameRejected(_logger, _id, InstanceId, ErrorCodes.Invalid, noKind);
                await ReplyAsync(Error(requestId, ErrorCodes.Invalid, noKind), cancellationToken);
                return true;
        }
    }

    private async ValueTask<bool> RegisterAsync(ulong requestId, Register register, CancellationToken cancellationToken)
    {
        var instanceId = register.InstanceId;
        var plausible = instanceId.Length is > 0 and <= MaxInstanceIdLength && register.Token.Length is > 0 and <= MaxTokenLength;
        if (!plausible || !_authenticator.Authenticate(instanceId, register.Token))
        {
            // The same answer whatever was wrong, so a peer cannot probe for instance ids.
            Log.AuthenticationFailed(_logger, _id, Quote(instanceId));
            await ReplyAsync(Error(requestId, ErrorCodes.Unauthenticated, "unknown instance id or wrong token"), cancellationToken);
            return false;
        }

        InstanceId = instanceId;
        _onRegistered(instanceId);
        Log.Registered(_logger, instanceId, _id);
        await ReplyAsync(new AgentFrame { RequestId = requestId, Registered = new Registered { NodeId = _nodeId } }, cancellationToken);
        return true;
    }

    private async ValueTask<bool> SubscribeAsync(ulong requestId, string instanceId, Subscribe subscribe, CancellationToken cancellationToken)
    {
        var own = _channelOf?.Invoke(instanceId);
        var channel = subscribe.Channel;
        if (_events is null || own is null)
        {
            await FailAsync(requestId, ErrorCodes.Invalid, $"subscribe.channel = '{Quote(channel)}': status messages are not available to instance '{instanceId}' on this agent", cancellationToken);
            return true;
        }

        if (!string.Equals(channel, own, StringComparison.Ordinal))
        {
            await FailAsync(requestId, ErrorCodes.Invalid, $"subscribe.channel = '{Quote(channel)}'; an instance may subscribe only to its own set's channel, '{own}'", cancellationToken);
            return true;
        }

        // Subscribed goes out before the first Event of the subscription can.
        await ReplyAsync(new AgentFrame { RequestId = requestId, Subscribed = new Subscribed { Channel = own } }, cancellationToken);
        if (_feed is null)
        {
            _feed = new EventFeed(_options.MaxQueuedEvents, OnBehind);
            _pump = PumpAsync(_feed.Reader, cancellationToken);
        }

        _subscription?.Dispose();
        _subscription = _events.Subscribe(own, subscribe.AfterSequence, _feed);
        Log.Subscribed(_logger, instanceId, own, subscribe.AfterSequence, _id);
        return true;
    }

    private void OnBehind()
    {
        if (_behind)
        {
            return;
        }

        _behind = true;

        // Not on the relay's thread, which called us under its lock.
        _ = Task.Run(() =>
        {
            try
            {
                _stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The connection already ended.
            }
        });
    }

    private async Task PumpAsync(ChannelReader<AgentFrame> events, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var frame in events.ReadAllAsync(cancellationToken))
            {
                try
                {
                    await ReplyAsync(frame, cancellationToken);
                }
                catch (ArgumentException ex)
                {
                    // Over the frame maximum: the aggregator bounds what it relays, so this is a defect; skip it.
                    Log.EventNotSent(_logger, _id, frame.Event.Channel, frame.Event.Sequence, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidOperationException)
        {
            _pumpError = ex;
            await _stop.CancelAsync();
        }
    }

    /// <summary>Ends the subscription and the pump; what was queued for a closing connection is dropped.</summary>
    private async Task StopEventsAsync()
    {
        _subscription?.Dispose();
        _subscription = null;
        _feed?.Complete();
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }

        await _pump;
    }

    private async Task SendBehindAsync(CancellationToken cancellationToken)
    {
        var message = $"this connection fell {_options.MaxQueuedEvents} events behind, the most the agent queues for it; connect again and subscribe after the last sequence received";
        Log.FrameRejected(_logger, _id, InstanceId ?? "", ErrorCodes.Unavailable, message);
        if (_torn)
        {
            return;
        }

        // A peer that reads nothing does not get to hold the connection open.
        using var deadline = new CancellationTokenSource(BehindReplyTimeout, _time);
        using var scope = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            await ReplyAsync(Error(0, ErrorCodes.Unavailable, message), scope.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
        }
    }

    private async Task<CommitOutcome> CommitAsync(string instanceId, CancellationToken cancellationToken)
    {
        if (_commits is null)
        {
            return new CommitOutcome(false, 0, "state commits are not available on this agent");
        }

        try
        {
            return await _commits.CommitNowAsync(instanceId, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.CommitFailed(_logger, instanceId, ex);
            return new CommitOutcome(false, 0, $"the commit failed: {ex.Message}");
        }
    }

    private async ValueTask FailAsync(ulong requestId, string code, string message, CancellationToken cancellationToken)
    {
        Log.FrameRejected(_logger, _id, InstanceId ?? "", code, message);
        await ReplyAsync(Error(requestId, code, message), cancellationToken);
    }

    /// <summary>Writes one whole frame (a reply or a pushed Event) and flushes it.</summary>
    private async ValueTask ReplyAsync(AgentFrame frame, CancellationToken cancellationToken)
    {
        await _writing.WaitAsync(cancellationToken);
        try
        {
            if (_torn)
            {
                return;
            }

            FrameWriter.Write(_output, frame);
            try
            {
                await _output.FlushAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                _torn = true;
                throw;
            }
        }
        finally
        {
            _writing.Release();
        }
    }

    private static AgentFrame Error(ulong requestId, string code, string message)
        => new() { RequestId = requestId, Error = new V1.Error { Code = code, Message = Cut(message, MaxErrorLength) } };

    private static string KindName(InstanceFrame.KindOneofCase kind) => kind switch
    {
        InstanceFrame.KindOneofCase.ReportGpuWork => "report_gpu_work",
        InstanceFrame.KindOneofCase.CommitNow => "commit_now",
        InstanceFrame.KindOneofCase.Subscribe => "subscribe",
        InstanceFrame.KindOneofCase.Register => "register",
        _ => "a frame with no kind",
    };

    private static string Quote(string value) => Cut(value, MaxQuotedLength);

    private static string Cut(string value, int max) => value.Length <= max ? value : string.Concat(value.AsSpan(0, max), "…");

    private static partial class Log
    {
        [LoggerMessage(EventId = 2520, EventName = "LocalSocketInstanceRegistered", Level = LogLevel.Information,
            Message = "Instance '{InstanceId}' registered on local socket connection {ConnectionId}.")]
        public static partial void Registered(ILogger logger, string instanceId, long connectionId);

        [LoggerMessage(EventId = 2521, EventName = "LocalSocketAuthenticationFailed", Level = LogLevel.Warning,
            Message = "Local socket connection {ConnectionId} failed to register as instance '{InstanceId}': unknown instance id or wrong token.")]
        public static partial void AuthenticationFailed(ILogger logger, long connectionId, string instanceId);

        [LoggerMessage(EventId = 2522, EventName = "LocalSocketRegisterTimedOut", Level = LogLevel.Warning,
            Message = "Local socket connection {ConnectionId} sent no register frame within {Seconds} s; closing it.")]
        public static partial void RegisterTimedOut(ILogger logger, long connectionId, double seconds);

        [LoggerMessage(EventId = 2523, EventName = "LocalSocketFrameRejected", Level = LogLevel.Warning,
            Message = "Local socket connection {ConnectionId} (instance '{InstanceId}') sent a frame rejected as '{Code}': {Reason}.")]
        public static partial void FrameRejected(ILogger logger, long connectionId, string instanceId, string code, string reason);

        [LoggerMessage(EventId = 2524, EventName = "LocalSocketCommitFailed", Level = LogLevel.Warning,
            Message = "The commit instance '{InstanceId}' asked for failed.")]
        public static partial void CommitFailed(ILogger logger, string instanceId, Exception exception);

        [LoggerMessage(EventId = 2525, EventName = "LocalSocketSubscribed", Level = LogLevel.Information,
            Message = "Instance '{InstanceId}' subscribed to channel '{Channel}' after sequence {AfterSequence} on local socket connection {ConnectionId}.")]
        public static partial void Subscribed(ILogger logger, string instanceId, string channel, ulong afterSequence, long connectionId);

        [LoggerMessage(EventId = 2526, EventName = "LocalSocketEventNotSent", Level = LogLevel.Error,
            Message = "Local socket connection {ConnectionId}: the event '{Channel}' {Sequence} was not sent: {Reason}")]
        public static partial void EventNotSent(ILogger logger, long connectionId, string channel, ulong sequence, string reason);
    }

    /// <summary>The connection's queue of Events waiting to be written.</summary>
    private sealed class EventFeed(int capacity, Action onBehind) : IEventSubscriber
    {
        private readonly Channel<AgentFrame> _frames = Channel.CreateBounded<AgentFrame>(
            new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

        public ChannelReader<AgentFrame> Reader => _frames.Reader;

        public bool TryDeliver(ChannelEvent channelEvent)
        {
            if (_frames.Writer.TryWrite(EventFrames.From(channelEvent)))
            {
                return true;
            }

            onBehind();
            return false;
        }

        public void Complete() => _frames.Writer.TryComplete();
    }
}
