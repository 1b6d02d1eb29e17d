using System.Threading.Channels;
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
    /// <summary>How many messages may wait for the stream before new ones are dropped.</summary>
    public const int OutboxCapacity = 1024;

    /// <summary>How long a clean stop waits for the last heartbeat to be written.</summary>
    public static readonly TimeSpan FinalHeartbeatTimeout = TimeSpan.FromSeconds(2);

    private readonly AgentOptions _options;
    private readonly NodeHello _hello;
    private readonly NodeState _state;
    private readonly GpuTelemetry _gpus;
    private readonly TimeProvider _time;
    private readonly ReconnectBackoff _backoff;
    private readonly ILogger<AgentLinkClient> _logger;
    private volatile Channel<Outgoing>? _outbox;
    private int _addressIndex;

    public AgentLinkClient(AgentOptions options, NodeHello hello, NodeState state, GpuTelemetry gpus, TimeProvider time, Random random, ILogger<AgentLinkClient> logger)
    {
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

    /// <summary>Whether a stream is open and welcomed.</summary>
    public bool IsConnected => _outbox is not null;

    /// <summary>Queues the next heartbeat; false (and nothing queued) while no stream is open.</summary>
    public bool TrySendHeartbeat() => IsConnected && TrySend(new AgentMessage { Heartbeat = _state.NextHeartbeat() });

    /// <summary>Queues a message for the aggregator; false (and nothing queued) while no stream is open or the outbox is full.</summary>
    public bool TrySend(AgentMessage message)
    {
        var outbox = _outbox;
        return outbox is not null && outbox.Writer.TryWrite(new Outgoing(message, null));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _state.SetStopping();
        var outbox = _outbox;
        if (outbox is not null)
        {
            var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (outbox.Writer.TryWrite(new Outgoing(new AgentMessage { Heartbeat = _state.NextHeartbeat() }, written)))
            {
                // Completing the outbox makes the writer close the request stream after the last heartbeat.
                outbox.Writer.TryComplete();
                try
                {
                    await written.Task.WaitAsync(FinalHeartbeatTimeout, _time, cancellationToken);
                    Log.StoppingSent(_logger);
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

            if (stoppingToken.IsCancellationRequested)
            {
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
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = false,
            MaxReceiveMessageSize = 4 * 1024 * 1024,
        });
        using var callScope = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        using var call = new AgentLink.AgentLinkClient(channel).Connect(cancellationToken: callScope.Token);

        using (var welcomeWait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
        {
            welcomeWait.CancelAfter(TimeSpan.FromMilliseconds(_options.ConnectTimeoutMs));
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
        var interval = welcome.HeartbeatInterval?.ToTimeSpan() ?? _state.HeartbeatInterval;
        if (interval > TimeSpan.Zero)
        {
            _state.SetInterval(interval);
        }

        _backoff.Reset();
        var outbox = Channel.CreateBounded<Outgoing>(new BoundedChannelOptions(OutboxCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
        Log.Connected(_logger, address, welcome.AggregatorId, (long)_state.HeartbeatInterval.TotalMilliseconds, (long)(welcome.Lease?.ToTimeSpan().TotalMilliseconds ?? 0));

        // The first heartbeat goes at once, so the aggregator sees the node's state without waiting an interval.
        outbox.Writer.TryWrite(new Outgoing(new AgentMessage { Heartbeat = _state.NextHeartbeat() }, null));
        _outbox = outbox;
        try
        {
            var writer = WriteLoopAsync(call.RequestStream, outbox.Reader, callScope.Token);
            var reader = ReadLoopAsync(call.ResponseStream, outbox.Writer, callScope.Token);
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
            _outbox = null;
            outbox.Writer.TryComplete();
        }
    }

    private static async Task WriteLoopAsync(IClientStreamWriter<AgentMessage> stream, ChannelReader<Outgoing> outbox, CancellationToken cancellationToken)
    {
        await foreach (var outgoing in outbox.ReadAllAsync(cancellationToken))
        {
            try
            {
                await stream.WriteAsync(outgoing.Message, cancellationToken);
                outgoing.Written?.TrySetResult();
            }
            catch (Exception ex)
            {
                outgoing.Written?.TrySetException(ex);
                throw;
            }
        }

        await stream.CompleteAsync();
    }

    private async Task ReadLoopAsync(IAsyncStreamReader<AggregatorMessage> stream, ChannelWriter<Outgoing> outbox, CancellationToken cancellationToken)
    {
        while (await stream.MoveNext(cancellationToken))
        {
            var message = stream.Current;
            if (message.KindCase != AggregatorMessage.KindOneofCase.Command)
            {
                Log.UnexpectedMessage(_logger, message.KindCase.ToString());
                continue;
            }

            var result = Execute(message.Command);
            outbox.TryWrite(new Outgoing(new AgentMessage { CommandResult = result }, null));
        }
    }

    private CommandResult Execute(Command command)
    {
        switch (command.KindCase)
        {
            case Command.KindOneofCase.SetDraining:
                var draining = command.SetDraining.Draining;
                if (!_state.SetDraining(draining))
                {
                    return new CommandResult { CommandId = command.CommandId, Ok = false, Error = "the agent is stopping" };
                }

                Log.DrainingSet(_logger, draining, command.CommandId);
                return new CommandResult { CommandId = command.CommandId, Ok = true };
            default:
                Log.UnknownCommand(_logger, command.KindCase.ToString(), command.CommandId);
                return new CommandResult
                {
                    CommandId = command.CommandId,
                    Ok = false,
                    Error = $"this agent ({NodeHello.AgentVersion}) does not know command kind '{command.KindCase}'",
                };
        }
    }

    private sealed record Outgoing(AgentMessage Message, TaskCompletionSource? Written);

    private static partial class Log
    {
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

        [LoggerMessage(EventId = 2107, EventName = "UnexpectedAggregatorMessage", Level = LogLevel.Warning,
            Message = "The aggregator sent an unexpected message of kind '{Kind}'; ignored.")]
        public static partial void UnexpectedMessage(ILogger logger, string kind);

        [LoggerMessage(EventId = 2108, EventName = "UnknownCommand", Level = LogLevel.Warning,
            Message = "Command '{CommandId}' of kind '{Kind}' is not known to this agent; answered not ok.")]
        public static partial void UnknownCommand(ILogger logger, string kind, string commandId);

        [LoggerMessage(EventId = 2109, EventName = "DrainingSet", Level = LogLevel.Information,
            Message = "Draining set to {Draining} by command '{CommandId}'.")]
        public static partial void DrainingSet(ILogger logger, bool draining, string commandId);
    }
}
