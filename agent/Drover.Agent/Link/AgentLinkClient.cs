using Drover.Agent.Configuration;
using Drover.Agent.Heartbeats;
using Drover.Agent.Telemetry;
using Drover.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Drover.Agent.Link;

/// <summary>
/// The agent's end of the agent link: one stream at a time to one aggregator. It opens the stream
/// with a Hello, waits for Welcome, then writes what the agent queues (heartbeats, command results)
/// and carries out the aggregator's commands. A broken stream is reopened after a jittered
/// exponential backoff, to the next configured aggregator address. On a clean stop it sends a last
/// heartbeat saying <c>stopping</c> and closes the stream.
/// </summary>
internal sealed partial class AgentLinkClient : BackgroundService
{
    /// <summary>How long a clean stop waits for the last heartbeat to be written.</summary>
    public static readonly TimeSpan FinalHeartbeatTimeout = TimeSpan.FromSeconds(2);

    private readonly AgentOptions _options;
    private readonly NodeHello _hello;
    private readonly NodeState _state;
    private readonly GpuTelemetry _gpus;
    private readonly TimeProvider _time;
    private readonly ReconnectBackoff _backoff;
    private readonly ILogger<AgentLinkClient> _logger;
    private readonly AgentOutbox _outbox;
    private readonly AggregatorMessageDispatcher _dispatcher;
    private readonly AgentLinkTls? _tls;
    private readonly Shims.ShimCredential? _shimCredential;
    private int _addressIndex;
    private volatile TaskCompletionSource _streamClosed = CompletedStream();

    // Completes once the stream being opened has its outbox attached (or failed): a stop that comes
    // between the Hello and the Welcome waits for it, so even that stop is reported as stopping.
    private volatile TaskCompletionSource _handshake = CompletedStream();

    public AgentLinkClient(
        AgentOptions options,
        NodeHello hello,
        NodeState state,
        GpuTelemetry gpus,
        AgentOutbox outbox,
        AggregatorMessageDispatcher dispatcher,
        TimeProvider time,
        Random random,
        ILogger<AgentLinkClient> logger,
        AgentLinkTls? tls = null,
        Shims.ShimCredential? shimCredential = null)
    {
        _tls = tls;
        _shimCredential = shimCredential;
        _outbox = outbox;
        _dispatcher = dispatcher;
        _options = options;
        _hello = hello;
        _state = state;
        _gpus = gpus;
        _time = time;
        _logger = logger;
        _backoff = new ReconnectBackoff(
            TimeSpan.FromMilliseconds(options.ReconnectInitialBackoffMs),
            TimeSpan.FromMilliseconds(options.ReconnectMaxBackoffMs),
            random);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _state.SetStopping();
        if (_outbox.Current is null && !_handshake.Task.IsCompleted)
        {
            // The aggregator may count the node alive already (its Hello arrived): say stopping once the Welcome does.
            await _handshake.Task.WaitAsync(FinalHeartbeatTimeout, _time, cancellationToken).ContinueWith(static _ => { }, TaskScheduler.Default);
        }

        var outbox = _outbox.Current;
        if (outbox is not null)
        {
            var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (outbox.Writer.TryWrite(new OutgoingMessage(new AgentMessage { Heartbeat = _state.NextHeartbeat() }, written)))
            {
                // Completing the outbox makes the writer close the request stream after the last heartbeat.
                outbox.Writer.TryComplete();
                try
                {
                    await written.Task.WaitAsync(FinalHeartbeatTimeout, _time, cancellationToken);
                    Log.StoppingSent(_logger);

                    // Written to the stream is not yet read by the aggregator: let the stream close
                    // from the aggregator's side before stopping cancels the call.
                    await _streamClosed.Task.WaitAsync(FinalHeartbeatTimeout, _time, cancellationToken);
                }
                catch (Exception ex) when (ex is TimeoutException or OperationCanceledException or RpcException or IOException)
                {
                    Log.StoppingNotSent(_logger, ex.Message);
                }
            }
        }

        await base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var address = _options.Aggregators[_addressIndex % _options.Aggregators.Count];
            try
            {
                await RunStreamAsync(address, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.InvalidArgument or StatusCode.AlreadyExists or StatusCode.FailedPrecondition)
            {
                Log.Refused(_logger, address, ex.StatusCode.ToString(), ex.Status.Detail);
            }
            catch (Exception ex) when (ex is RpcException or IOException or HttpRequestException or TimeoutException or OperationCanceledException or InvalidOperationException)
            {
                Log.StreamFailed(_logger, address, ex.Message);
            }

            if (stoppingToken.IsCancellationRequested || _state.Survival == SurvivalState.Stopping)
            {
                // Stopping: the last stream said so and closed; no new one.
                return;
            }

            _addressIndex++;
            var delay = _backoff.NextDelay();
            Log.Reconnecting(_logger, _options.Aggregators[_addressIndex % _options.Aggregators.Count], (long)delay.TotalMilliseconds);
            try
            {
                await Task.Delay(delay, _time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task RunStreamAsync(string address, CancellationToken stoppingToken)
    {
        using var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromMilliseconds(_options.ConnectTimeoutMs),
            // HTTP/2 pings catch a half-open connection the kernel would not notice for minutes.
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
        };
        if (_tls is not null)
        {
            handler.SslOptions = _tls.ClientOptions(_time, why => Log.AggregatorRefused(_logger, address, why));
        }

        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = false,
            MaxReceiveMessageSize = 4 * 1024 * 1024,
        });
        using var callScope = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        using var call = new AgentLink.AgentLinkClient(channel).Connect(cancellationToken: callScope.Token);
        var handshake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _handshake = handshake;
        try
        {
            await RunCallAsync(call, callScope, address, handshake, stoppingToken);
        }
        finally
        {
            handshake.TrySetResult();
        }
    }

    private async Task RunCallAsync(AsyncDuplexStreamingCall<AgentMessage, AggregatorMessage> call, CancellationTokenSource callScope, string address, TaskCompletionSource handshake, CancellationToken stoppingToken)
    {

        using (var welcomeDeadline = new CancellationTokenSource(TimeSpan.FromMilliseconds(_options.ConnectTimeoutMs), _time))
        using (var welcomeWait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, welcomeDeadline.Token))
        {
            await call.RequestStream.WriteAsync(new AgentMessage { Hello = _hello.Create(_gpus.Status, _gpus.Inventory()) }, welcomeWait.Token);
            if (!await call.ResponseStream.MoveNext(welcomeWait.Token))
            {
                throw new IOException("the aggregator closed the stream before its Welcome");
            }
        }

        var first = call.ResponseStream.Current;
        if (first.KindCase != AggregatorMessage.KindOneofCase.Welcome)
        {
            throw new IOException($"the aggregator's first message was {first.KindCase}, not Welcome");
        }

        var welcome = first.Welcome;
        _shimCredential?.Set(welcome.ShimCredential);
        // The aggregator names the interval; the agent keeps it within the bounds it accepts in its own configuration.
        var interval = welcome.HeartbeatInterval?.ToTimeSpan() ?? _state.HeartbeatInterval;
        _state.SetInterval(TimeSpan.FromMilliseconds(Math.Clamp(interval.TotalMilliseconds, 50, 60_000)));

        _backoff.Reset();
        var outbox = _outbox.Open();
        var urgent = AgentOutbox.OpenUrgent();
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _streamClosed = closed;
        Log.Connected(_logger, address, welcome.AggregatorId, (long)_state.HeartbeatInterval.TotalMilliseconds, (long)(welcome.Lease?.ToTimeSpan().TotalMilliseconds ?? 0));

        // The first heartbeat goes at once, so the aggregator sees the node's state without waiting an interval.
        outbox.Writer.TryWrite(new OutgoingMessage(new AgentMessage { Heartbeat = _state.NextHeartbeat() }, null));
        _outbox.Attach(outbox, urgent);
        handshake.TrySetResult();
        try
        {
            var writer = WriteLoopAsync(call.RequestStream, AgentOutbox.ReadInOrderAsync(outbox.Reader, urgent.Reader, welcome.AcceptsStatusEvents, callScope.Token), callScope.Token);
            var reader = ReadLoopAsync(call.ResponseStream, callScope.Token);
            var ended = await Task.WhenAny(writer, reader);
            if (ended == writer && writer.IsCompletedSuccessfully)
            {
                // A clean stop: the request stream is complete; give the aggregator a moment to end its side.
                await reader.WaitAsync(FinalHeartbeatTimeout, _time, CancellationToken.None).ContinueWith(static _ => { }, TaskScheduler.Default);
            }

            await callScope.CancelAsync();
            await Task.WhenAll(writer.ContinueWith(static _ => { }, TaskScheduler.Default), reader.ContinueWith(static _ => { }, TaskScheduler.Default));
            await ended; // surfaces why the stream ended
            if (!stoppingToken.IsCancellationRequested && _state.Survival != SurvivalState.Stopping)
            {
                throw new IOException("the aggregator ended the stream");
            }
        }
        finally
        {
            _outbox.Detach(outbox);
            closed.TrySetResult();
        }
    }

    private static TaskCompletionSource CompletedStream()
    {
        var done = new TaskCompletionSource();
        done.SetResult();
        return done;
    }

    private static async Task WriteLoopAsync(IClientStreamWriter<AgentMessage> stream, IAsyncEnumerable<OutgoingMessage> outbox, CancellationToken cancellationToken)
    {
        await foreach (var outgoing in outbox)
        {
            try
            {
                await stream.WriteAsync(outgoing.Message, cancellationToken);
                foreach (var written in outgoing.AllWritten)
                {
                    written.TrySetResult();
                }
            }
            catch (Exception ex)
            {
                foreach (var written in outgoing.AllWritten)
                {
                    written.TrySetException(ex);
                }

                throw;
            }
        }

        await stream.CompleteAsync();
    }

    private async Task ReadLoopAsync(IAsyncStreamReader<AggregatorMessage> stream, CancellationToken cancellationToken)
    {
        while (await stream.MoveNext(cancellationToken))
        {
            _dispatcher.Dispatch(stream.Current);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2107, EventName = "AggregatorCertificateRefused", Level = LogLevel.Error,
            Message = "The aggregator at {Address} was refused: {Reason}. Not connecting to it.")]
        public static partial void AggregatorRefused(ILogger logger, string address, string reason);

        [LoggerMessage(EventId = 2101, EventName = "LinkConnected", Level = LogLevel.Information,
            Message = "Connected to aggregator '{Address}' ('{AggregatorId}'); heartbeat every {IntervalMs} ms, lease {LeaseMs} ms.")]
        public static partial void Connected(ILogger logger, string address, string aggregatorId, long intervalMs, long leaseMs);

        [LoggerMessage(EventId = 2102, EventName = "LinkFailed", Level = LogLevel.Warning,
            Message = "The stream to aggregator '{Address}' failed: {Reason}")]
        public static partial void StreamFailed(ILogger logger, string address, string reason);

        [LoggerMessage(EventId = 2103, EventName = "HelloRefused", Level = LogLevel.Error,
            Message = "Aggregator '{Address}' refused this node ({Status}): {Detail}")]
        public static partial void Refused(ILogger logger, string address, string status, string detail);

        [LoggerMessage(EventId = 2104, EventName = "Reconnecting", Level = LogLevel.Information,
            Message = "Reconnecting to aggregator '{Address}' in {DelayMs} ms.")]
        public static partial void Reconnecting(ILogger logger, string address, long delayMs);

        [LoggerMessage(EventId = 2105, EventName = "StoppingSent", Level = LogLevel.Information,
            Message = "Sent the last heartbeat with survival state 'stopping'.")]
        public static partial void StoppingSent(ILogger logger);

        [LoggerMessage(EventId = 2106, EventName = "StoppingNotSent", Level = LogLevel.Warning,
            Message = "The last heartbeat ('stopping') could not be sent: {Reason}")]
        public static partial void StoppingNotSent(ILogger logger, string reason);
    }
}
