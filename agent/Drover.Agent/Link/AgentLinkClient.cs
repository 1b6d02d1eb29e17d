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
/// <para>
/// With several aggregators only the leader welcomes: a follower answers the Hello with a Redirect naming
/// the leader, which the agent dials at once, once: a leader that redirects again (the leadership moved
/// meanwhile) or cannot be reached sends the agent back to its configured addresses after a backoff, so
/// two aggregators that name each other cannot spin it. A Redirect naming no leader (an election is under
/// way) is waited out with the backoff. A Welcome from a leader of a lower term than the agent has
/// accepted for the same store is refused (<see cref="LeaderTermMemory"/>).
/// </para>
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
    private readonly LeaderTermMemory _leaders;
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
        LeaderTermMemory leaders,
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
        _leaders = leaders;
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
        // The leader a follower named, dialled next outside the rotation: the rotation stays on the follower,
        // so when the leader's stream ends the agent goes on with the address after the follower.
        string? leaderAddress = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            var followed = leaderAddress is not null;
            var address = leaderAddress ?? _options.Aggregators[_addressIndex % _options.Aggregators.Count];
            leaderAddress = null;
            Redirect? redirect = null;
            try
            {
                redirect = await RunStreamAsync(address, stoppingToken);
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

            if (redirect is not null)
            {
                leaderAddress = Follow(address, redirect, followed);
                if (leaderAddress is not null)
                {
                    // At once: a follower answered; nothing failed that a delay would help.
                    continue;
                }

                if (redirect.LeaderAddress.Length == 0)
                {
                    // An election is under way (a few seconds at most): the follower answered, so nothing is down that
                    // a growing delay would spare; ask again after the initial backoff, so the agent reaches the new
                    // leader soon after it is elected rather than a grown backoff later.
                    _backoff.Reset();
                }
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

    /// <summary>
    /// The address to dial at once after <paramref name="redirect"/>, or null to go on with the next
    /// configured address after a backoff: no leader is known yet, this stream was itself the leader a
    /// follower named (<paramref name="followed"/>: following again could loop), or the address is not one
    /// the agent may dial (a plain-text address would downgrade a TLS agent).
    /// </summary>
    private string? Follow(string address, Redirect redirect, bool followed)
    {
        var leader = redirect.LeaderAddress;
        if (leader.Length == 0)
        {
            Log.NoLeader(_logger, address);
            return null;
        }

        var scheme = _options.Insecure ? Uri.UriSchemeHttp : Uri.UriSchemeHttps;
        if (!Uri.TryCreate(leader, UriKind.Absolute, out var uri) || uri.Scheme != scheme || uri.Port <= 0)
        {
            Log.RedirectRefused(_logger, address, leader, scheme);
            return null;
        }

        if (followed)
        {
            Log.RedirectedAgain(_logger, address, leader);
            return null;
        }

        Log.Redirected(_logger, address, redirect.LeaderId, leader);
        return leader;
    }

    /// <summary>
    /// One stream, from Hello to its end. Returns the Redirect a follower answered with, else null: the
    /// stream ran until the agent stopped, or its Welcome was refused (logged here). A stream that breaks throws.
    /// </summary>
    private async Task<Redirect?> RunStreamAsync(string address, CancellationToken stoppingToken)
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
            return await RunCallAsync(call, callScope, address, handshake, stoppingToken);
        }
        finally
        {
            handshake.TrySetResult();
        }
    }

    private async Task<Redirect?> RunCallAsync(AsyncDuplexStreamingCall<AgentMessage, AggregatorMessage> call, CancellationTokenSource callScope, string address, TaskCompletionSource handshake, CancellationToken stoppingToken)
    {
        using (var welcomeDeadline = new CancellationTokenSource(TimeSpan.FromMilliseconds(_options.ConnectTimeoutMs), _time))
        using (var welcomeWait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, welcomeDeadline.Token))
        {
            await call.RequestStream.WriteAsync(new AgentMessage { Hello = _hello.Create(_gpus.Status, _gpus.Inventory(), _leaders.Kept) }, welcomeWait.Token);
            if (!await call.ResponseStream.MoveNext(welcomeWait.Token))
            {
                throw new IOException("the aggregator closed the stream before its Welcome");
            }
        }

        var first = call.ResponseStream.Current;
        if (first.KindCase == AggregatorMessage.KindOneofCase.Redirect)
        {
            // A follower: it ends the stream itself; disposing the call closes the agent's side.
            return first.Redirect;
        }

        if (first.KindCase != AggregatorMessage.KindOneofCase.Welcome)
        {
            throw new IOException($"the aggregator's first message was {first.KindCase}, not Welcome");
        }

        var welcome = first.Welcome;
        var kept = _leaders.Kept;
        switch (_leaders.Offer(welcome.Leader))
        {
            case LeaderVerdict.Refuse:
                // Before anything of the Welcome is taken (its shim credential, its interval): a deposed leader gives no orders.
                Log.DeposedLeader(_logger, address, welcome.AggregatorId, welcome.Leader.StoreId, welcome.Leader.Term, kept!.Term);
                return null;
            case LeaderVerdict.AdoptNewStore:
                Log.StoreChanged(_logger, address, welcome.Leader.StoreId, welcome.Leader.Term, kept!.StoreId, kept.Term);
                break;
        }

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

            return null;
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

        [LoggerMessage(EventId = 2110, EventName = "LinkRedirected", Level = LogLevel.Information,
            Message = "Aggregator '{Address}' is not the leader; connecting to the leader '{LeaderId}' at '{LeaderAddress}' now.")]
        public static partial void Redirected(ILogger logger, string address, string leaderId, string leaderAddress);

        [LoggerMessage(EventId = 2111, EventName = "LinkNoLeader", Level = LogLevel.Information,
            Message = "Aggregator '{Address}' is not the leader and knows of none (an election is under way); trying the next address after a delay.")]
        public static partial void NoLeader(ILogger logger, string address);

        [LoggerMessage(EventId = 2112, EventName = "LinkRedirectedAgain", Level = LogLevel.Information,
            Message = "Aggregator '{Address}', named as the leader, redirected again to '{LeaderAddress}'; not followed twice in a row, trying the next configured address after a delay.")]
        public static partial void RedirectedAgain(ILogger logger, string address, string leaderAddress);

        [LoggerMessage(EventId = 2113, EventName = "LinkRedirectRefused", Level = LogLevel.Warning,
            Message = "Aggregator '{Address}' redirected to '{LeaderAddress}', which is not an absolute {Scheme}:// address with a port; not followed, trying the next address after a delay.")]
        public static partial void RedirectRefused(ILogger logger, string address, string leaderAddress, string scheme);

        [LoggerMessage(EventId = 2114, EventName = "DeposedLeaderRefused", Level = LogLevel.Error,
            Message = "Aggregator '{Address}' ('{AggregatorId}') welcomed this node as leader of store '{StoreId}' at term {Term}, but this agent has accepted term {KeptTerm} of that store: a deposed leader. Stream refused; trying the next address.")]
        public static partial void DeposedLeader(ILogger logger, string address, string aggregatorId, string storeId, ulong term, ulong keptTerm);

        [LoggerMessage(EventId = 2115, EventName = "LeaderStoreChanged", Level = LogLevel.Information,
            Message = "Aggregator '{Address}' leads store '{StoreId}' (term {Term}), not store '{KeptStoreId}' (term {KeptTerm}) this agent knew: a new store, whose terms are followed from now on.")]
        public static partial void StoreChanged(ILogger logger, string address, string storeId, ulong term, string keptStoreId, ulong keptTerm);
    }
}
