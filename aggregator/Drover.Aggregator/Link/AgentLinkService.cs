using System.Threading.Channels;
using Drover.Aggregator.Configuration;
using Drover.Aggregator.Events;
using Drover.Aggregator.Fleet;
using Drover.Aggregator.Functions;
using Drover.Aggregator.Leadership;
using Drover.Aggregator.Metrics;
using Drover.Aggregator.Services;
using Drover.Aggregator.State;
using Drover.Decisions.Liveness;
using Drover.Decisions.Placement;
using Drover.Protocol.Events;
using Drover.Aggregator.Security;
using Drover.Protocol.Security;
using Drover.Protocol.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Drover.Aggregator.Link;

/// <summary>
/// The aggregator's side of <c>AgentLink.Connect</c>: ingest only. It validates what arrives,
/// writes it to the node table, and relays commands queued by actuators to the agent.
/// </summary>
internal sealed partial class AgentLinkService : AgentLink.AgentLinkBase
{
    /// <summary>What the log names as the node of a stream whose Hello has not arrived.</summary>
    private const string NoHelloYet = "none: no Hello yet";

    private readonly TimeProvider _time;
    private readonly NodeTable _nodes;
    private readonly InstanceTable _instances;
    private readonly WorkloadStatsTable _stats;
    private readonly CommandResults _results;
    private readonly FunctionRegistry _functions;
    private readonly ServiceRegistry _services;
    private readonly SnapshotAssembler _snapshots;
    private readonly IStateStore _store;
    private readonly AgentConnections _connections;
    private readonly EventHub _events;
    private readonly AggregatorOptions _options;
    private readonly ILogger<AgentLinkService> _logger;
    private readonly string _aggregatorId;
    private readonly string _shimCredential;
    private readonly AdvertisedAddress _advertised;
    private readonly CurrentLeadership _leadership;

    public AgentLinkService(
        NodeTable nodes,
        InstanceTable instances,
        WorkloadStatsTable stats,
        CommandResults results,
        FunctionRegistry functions,
        ServiceRegistry services,
        SnapshotAssembler snapshots,
        IStateStore store,
        AgentConnections connections,
        EventHub events,
        AggregatorOptions options,
        AggregatorIdentity identity,
        ShimCredentialFile.Credential shimCredential,
        CurrentLeadership leadership,
        TimeProvider time,
        ILogger<AgentLinkService> logger)
    {
        _leadership = leadership;
        _time = time;
        _nodes = nodes;
        _instances = instances;
        _stats = stats;
        _results = results;
        _functions = functions;
        _services = services;
        _snapshots = snapshots;
        _store = store;
        _connections = connections;
        _events = events;
        _options = options;
        _logger = logger;
        _aggregatorId = identity.Id;
        _shimCredential = shimCredential.Value;
        _advertised = AdvertisedAddress.Parse(options.AdvertiseAddressesAllowed).Policy
            ?? throw new ArgumentException("advertiseAddressesAllowed was not validated", nameof(options));
    }

    public override async Task Connect(
        IAsyncStreamReader<AgentMessage> requestStream,
        IServerStreamWriter<AggregatorMessage> responseStream,
        ServerCallContext context)
    {
        var peer = context.Peer;
        var hello = await ReadHelloAsync(requestStream, peer, context.CancellationToken);
        var (identity, field, reason) = HelloValidator.Validate(hello);
        if (identity is null)
        {
            Log.HelloRefused(_logger, peer, field!, reason!);
            throw new RpcException(new Status(StatusCode.InvalidArgument, reason!));
        }

        if (!_options.Insecure)
        {
            // Mutual TLS: the certificate (checked against linkCaFile by Kestrel) names the node; a
            // Hello for any other node, a live one's included, is an impostor's.
            var certificate = context.GetHttpContext().Connection.ClientCertificate;
            var certified = certificate is null ? null : LinkCertificates.NodeOf(certificate);
            if (!string.Equals(certified, identity.NodeId, StringComparison.Ordinal))
            {
                var notCertified = $"hello.nodeId = '{identity.NodeId}' is not the node of the connection's certificate ('{certified ?? "none"}')";
                Log.HelloRefused(_logger, peer, "nodeId", notCertified);
                throw new RpcException(new Status(StatusCode.PermissionDenied, notCertified));
            }
        }

        // An agent that accepted a later term of this store knows of a newer leader: this one is deposed (elected) or
        // moves its term above it (alone, on a state.db restored from a backup).
        if (hello.KnownLeader is { } known && !_leadership.Accepts(known.StoreId, (long)known.Term))
        {
            var deposed = $"hello.knownLeader: this agent accepted term {known.Term}, above this aggregator's term {_leadership.Term}: another aggregator leads";
            Log.HelloRefused(_logger, peer, "knownLeader", deposed);
            throw new RpcException(new Status(StatusCode.FailedPrecondition, deposed));
        }

        var remote = context.GetHttpContext().Connection.RemoteIpAddress;
        if (identity.Address.Length == 0)
        {
            // Nothing advertised: the node is reached at the address its stream comes from.
            identity = identity with { Address = remote is null ? "127.0.0.1" : (remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote).ToString() };
        }
        else if (_advertised.Check(identity.Address, remote) is { } notAllowed)
        {
            Log.HelloRefused(_logger, peer, "advertiseAddress", notAllowed);
            throw new RpcException(new Status(StatusCode.PermissionDenied, notAllowed));
        }

        var connection = new AgentConnection(identity.NodeId, Guid.NewGuid(), _options.LinkSendTimeout, _time);
        var registration = _nodes.Register(identity, connection.Id, _options.MaxNodesPerCluster);
        if (!registration.Accepted)
        {
            Log.HelloRefused(_logger, peer, registration.Field!, registration.Reason!);
            var status = registration.Field == "cluster" ? StatusCode.ResourceExhausted : StatusCode.AlreadyExists;
            throw new RpcException(new Status(status, $"hello.{registration.Field}: {registration.Reason}"));
        }

        connection.TrySend(new AggregatorMessage
        {
            Welcome = new Welcome
            {
                HeartbeatInterval = Duration.FromTimeSpan(_options.HeartbeatInterval),
                Lease = Duration.FromTimeSpan(NodeLiveness.Lease(_options.HeartbeatInterval, _options.MissedHeartbeats)),
                AggregatorId = _aggregatorId,
                ShimCredential = _shimCredential,
                AcceptsStatusEvents = true,
                Leader = new LeaderTerm { StoreId = _leadership.StoreId, Term = (ulong)_leadership.Term },
            },
        });

        // Visible to actuators only once Welcome is queued: it must be the stream's first message.
        _connections.Add(connection);
        Log.NodeConnected(_logger, identity.NodeId, identity.Cluster, identity.ServerNumber, identity.Port, peer);

        using var streamDone = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        var httpContext = context.GetHttpContext();
        var nodeId = identity.NodeId;

        // Aborted (the agent stopped reading, or it was marked lost): end the call now, whatever is
        // queued or being written; the writer may be blocked on HTTP/2 flow control the peer withholds.
        using var aborted = connection.Aborted.Register(() =>
        {
            Log.StreamAborted(_logger, nodeId, connection.AbortReason ?? "");
            streamDone.Cancel();
            httpContext.Abort();
        });
        var writer = WriteOutboxAsync(connection, responseStream, streamDone);
        try
        {
            await ReadLoopAsync(requestStream, connection, identity, peer, streamDone.Token);
        }
        catch (OperationCanceledException) when (streamDone.IsCancellationRequested)
        {
            // The agent went away, or a newer stream of the same node replaced this one.
        }
        catch (IOException ex)
        {
            Log.StreamBroken(_logger, identity.NodeId, ex.Message);
        }
        finally
        {
            _connections.Remove(connection);
            _nodes.Disconnected(identity.NodeId, connection.Id);
            await writer;
            Log.NodeDisconnected(_logger, identity.NodeId);
        }
    }

    private async Task<Hello> ReadHelloAsync(IAsyncStreamReader<AgentMessage> requestStream, string peer, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMilliseconds(_options.HelloTimeoutMs), _time);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            if (!await MoveNextAsync(requestStream, peer, NoHelloYet, timeout.Token))
            {
                throw new RpcException(new Status(StatusCode.FailedPrecondition, "the stream ended before a Hello"));
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, $"no Hello within {_options.HelloTimeoutMs} ms"));
        }

        var first = requestStream.Current;
        AggregatorMeter.CountMessage(first.KindCase);
        return first.KindCase == AgentMessage.KindOneofCase.Hello
            ? first.Hello
            : throw new RpcException(new Status(StatusCode.FailedPrecondition, $"the first message must be a Hello, not {first.KindCase}"));
    }

    /// <summary>
    /// The stream's next message, false at its end. A frame that does not parse as an
    /// <see cref="AgentMessage"/> is the peer's fault: it ends the stream with InvalidArgument naming the
    /// parser's reason, logged as a warning, instead of escaping as a failure of the handler (status
    /// Unknown, "Exception was thrown by handler", logged by gRPC as an error at every bad frame).
    /// </summary>
    private async Task<bool> MoveNextAsync(IAsyncStreamReader<AgentMessage> requestStream, string peer, string nodeId, CancellationToken cancellationToken)
    {
        try
        {
            return await requestStream.MoveNext(cancellationToken);
        }
        catch (InvalidProtocolBufferException ex)
        {
            Log.MessageMalformed(_logger, peer, nodeId, ex.Message);
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"a message is not a valid AgentMessage: {ex.Message}"));
        }
    }

    private async Task ReadLoopAsync(IAsyncStreamReader<AgentMessage> requestStream, AgentConnection connection, NodeIdentity identity, string peer, CancellationToken cancellationToken)
    {
        var chunks = Channel.CreateBounded<StateChunk>(new BoundedChannelOptions(16) { SingleReader = true, SingleWriter = true });
        var storing = StoreChunksAsync(connection, chunks.Reader, cancellationToken);
        await using var relay = new AgentEventRelay(_events, connection, _logger, cancellationToken);
        try
        {
            await ReadMessagesAsync(requestStream, connection, identity, peer, chunks, relay, cancellationToken);
        }
        finally
        {
            chunks.Writer.TryComplete();
            await storing;
        }
    }

    private async Task StoreChunksAsync(AgentConnection connection, ChannelReader<StateChunk> chunks, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var chunk in chunks.ReadAllAsync(cancellationToken))
            {
                if (await AcceptChunkAsync(connection.NodeId, chunk, cancellationToken) is { } ack)
                {
                    connection.TrySend(new AggregatorMessage { StateAck = ack });
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task ReadMessagesAsync(IAsyncStreamReader<AgentMessage> requestStream, AgentConnection connection, NodeIdentity identity, string peer, Channel<StateChunk> chunks, AgentEventRelay relay, CancellationToken cancellationToken)
    {
        while (await MoveNextAsync(requestStream, peer, identity.NodeId, cancellationToken))
        {
            var message = requestStream.Current;
            AggregatorMeter.CountMessage(message.KindCase);
            switch (message.KindCase)
            {
                case AgentMessage.KindOneofCase.Heartbeat:
                    OnHeartbeat(connection, message.Heartbeat);
                    break;
                case AgentMessage.KindOneofCase.ProbeReply:
                    OnProbeReply(connection, identity, message.ProbeReply);
                    break;
                case AgentMessage.KindOneofCase.Telemetry:
                    var (report, error) = TelemetryValidator.Telemetry(message.Telemetry, _nodes.Now);
                    if (report is null)
                    {
                        // Refuse the sample, keep the stream and everything already accepted.
                        Log.TelemetryRefused(_logger, connection.NodeId, error!);
                        break;
                    }

                    _nodes.RecordTelemetry(connection.NodeId, connection.Id, report);
                    break;
                case AgentMessage.KindOneofCase.InstanceReport:
                    OnInstanceReport(connection, message.InstanceReport);
                    break;
                case AgentMessage.KindOneofCase.ShimStats:
                    if (ShimStatsValidator.Validate(message.ShimStats) is { } invalid)
                    {
                        Log.ShimStatsRefused(_logger, connection.NodeId, invalid);
                        break;
                    }

                    _stats.Record(connection.NodeId, message.ShimStats);
                    break;
                case AgentMessage.KindOneofCase.StateChunk:
                    // Assembled and stored off the read loop: committing a large snapshot must not
                    // leave heartbeats unread until the node looks lost.
                    await chunks.Writer.WriteAsync(message.StateChunk, cancellationToken);
                    break;
                case AgentMessage.KindOneofCase.CommandResult:
                    var result = message.CommandResult;
                    _results.Complete(connection.NodeId, result);
                    if (result.Ok)
                    {
                        Log.CommandSucceeded(_logger, connection.NodeId, result.CommandId);
                    }
                    else
                    {
                        Log.CommandFailed(_logger, connection.NodeId, result.CommandId, result.Error);
                    }

                    break;
                case AgentMessage.KindOneofCase.StatusEvent:
                    OnStatusEvent(connection, message.StatusEvent);
                    break;
                case AgentMessage.KindOneofCase.StatusEvents:
                    OnStatusEvents(connection, message.StatusEvents);
                    break;
                case AgentMessage.KindOneofCase.EventSubscription:
                    relay.Handle(message.EventSubscription);
                    break;
                case AgentMessage.KindOneofCase.Hello:
                    throw new RpcException(new Status(StatusCode.FailedPrecondition, "a Hello is only accepted as the first message of a stream"));
                default:
                    // A newer agent may send kinds this aggregator does not know yet: ignore them, keep the stream.
                    Log.UnknownMessage(_logger, connection.NodeId, message.KindCase.ToString());
                    break;
            }
        }
    }

    /// <summary>Hands one snapshot chunk to the assembler; the ack to send once the upload is over, or null while more chunks are expected.</summary>
    private async Task<StateAck?> AcceptChunkAsync(string nodeId, StateChunk chunk, CancellationToken cancellationToken)
    {
        // Fencing: only the node an instance is assigned to commits its state. A node that was lost
        // while the instance resumed elsewhere must not overwrite the newer state with its old one,
        // and no node commits state for an instance the aggregator does not know.
        var assigned = _instances.AssignedNode(chunk.InstanceId);
        if (assigned is null)
        {
            if (chunk.Index + 1 < chunk.Count)
            {
                return null;
            }

            var unknown = $"instance '{chunk.InstanceId}' is not assigned to node '{nodeId}' (the aggregator does not know it)";
            Log.SnapshotRefused(_logger, nodeId, chunk.InstanceId, chunk.Version, unknown);
            return new StateAck { InstanceId = chunk.InstanceId, Version = 0, Ok = false, Sha256 = chunk.Sha256, Error = unknown };
        }

        if (assigned != nodeId)
        {
            if (chunk.Index + 1 < chunk.Count)
            {
                return null;
            }

            // A copy started under an older epoch than the instance's is fenced off for good: it stops.
            var fenced = EpochFence.Check(chunk.InstanceId, _instances.Epoch(chunk.InstanceId), (long)Math.Min(chunk.Epoch, long.MaxValue));
            Log.SnapshotRefused(_logger, nodeId, chunk.InstanceId, chunk.Version, $"the instance is assigned to node '{assigned}'");
            return new StateAck { InstanceId = chunk.InstanceId, Version = 0, Ok = false, Sha256 = chunk.Sha256, Error = fenced ?? $"instance '{chunk.InstanceId}' is assigned to another node", Fenced = fenced is not null };
        }

        var result = await _snapshots.AcceptChunkAsync(
            new SnapshotChunk(
                chunk.InstanceId,
                chunk.Function,
                (long)Math.Min(chunk.Version, long.MaxValue),
                (int)Math.Min(chunk.Index, int.MaxValue),
                (int)Math.Min(chunk.Count, int.MaxValue),
                (long)Math.Min(chunk.TotalSize, long.MaxValue),
                chunk.Sha256,
                chunk.Data.Memory,
                nodeId,
                chunk.TakenAt?.ToDateTimeOffset() ?? DateTimeOffset.MinValue,
                (long)Math.Min(chunk.Epoch, long.MaxValue)),
            cancellationToken);
        if (result.Outcome == UploadOutcome.Pending)
        {
            return null;
        }

        if (result.IsStored)
        {
            _instances.StateCommitted(chunk.InstanceId, chunk.Version);
            return new StateAck { InstanceId = chunk.InstanceId, Version = chunk.Version, Ok = true, Sha256 = chunk.Sha256 };
        }

        // Refused: tell the agent the latest stored version, so a stale agent continues from it.
        await using var latest = await _store.GetLatestAsync(chunk.InstanceId, cancellationToken);
        Log.SnapshotRefused(_logger, nodeId, chunk.InstanceId, chunk.Version, result.Reason ?? "");
        return new StateAck
        {
            InstanceId = chunk.InstanceId,
            Version = latest is null ? 0 : (ulong)latest.Info.Version,
            Ok = false,
            Sha256 = chunk.Sha256,
            Error = result.Reason ?? "refused",
            Fenced = result.Outcome == UploadOutcome.Fenced,
        };
    }

    private void OnInstanceReport(AgentConnection connection, InstanceReport report)
    {
        if (report.InstanceId.Length is 0 or > 64 || report.Function.Length > 63 || report.Version.Length > 128 || report.Reason.Length > 1024 || report.GpuUuids.Count > 64)
        {
            Log.ReportRefused(_logger, connection.NodeId, report.InstanceId.Length > 64 ? report.InstanceId[..64] : report.InstanceId);
            return;
        }

        _instances.Record(connection.NodeId, report);
    }

    private void OnStatusEvents(AgentConnection connection, StatusEvents batch)
    {
        if (batch.Events.Count > EventChannels.MaxEventsPerMessage)
        {
            // Refuse the message, keep the stream: the bound is the protocol's, and a larger batch is not split here.
            Log.StatusEventRefused(_logger, connection.NodeId, $"{batch.Events.Count} status messages in one; at most {EventChannels.MaxEventsPerMessage}");
            return;
        }

        foreach (var statusEvent in batch.Events)
        {
            OnStatusEvent(connection, statusEvent);
        }
    }

    private void OnStatusEvent(AgentConnection connection, StatusEvent statusEvent)
    {
        if (StatusEventValidator.Validate(statusEvent) is { } error)
        {
            // Refuse the message, keep the stream.
            Log.StatusEventRefused(_logger, connection.NodeId, error);
            return;
        }

        // Channels only of what is defined: a client calling made-up names on a node's port must not
        // make the aggregator keep a history for each.
        var defined = EventChannels.Split(statusEvent.Channel) switch
        {
            ("function", var name) => _functions.Find(name) is not null,
            ("service", var name) => _services.Find(name) is not null,
            _ => false,
        };
        if (!defined)
        {
            // Debug: clients choose these names, and a warning each would let them fill the log.
            Log.StatusEventUndefined(_logger, connection.NodeId, statusEvent.Channel);
            return;
        }

        // The stream's node produced it, whatever the message says.
        statusEvent.NodeId = connection.NodeId;
        _events.Publish(statusEvent);
    }

    private void OnHeartbeat(AgentConnection connection, Heartbeat heartbeat)
    {
        if (heartbeat.Survival == SurvivalState.Unspecified)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "heartbeat.survival = 'unspecified' is not accepted; expected alive, draining or stopping"));
        }

        var survival = NodeTable.FromWire(heartbeat.Survival);
        if (_nodes.RecordHeartbeat(connection.NodeId, connection.Id, heartbeat.Sequence, survival, out var wasLost) && wasLost)
        {
            Log.NodeBack(_logger, connection.NodeId, heartbeat.Sequence);
        }
    }

    private void OnProbeReply(AgentConnection connection, NodeIdentity identity, ProbeReply reply)
    {
        if (reply.Survival == SurvivalState.Unspecified)
        {
            // Refuse the reply, keep the stream: the probe stays unanswered and says so in time.
            Log.ProbeReplyRefused(_logger, connection.NodeId, reply.Sequence, "probeReply.survival = 'unspecified' is not accepted; expected alive, draining or stopping");
            return;
        }

        if ((reply.ServerNumber != identity.ServerNumber || reply.Port != identity.Port) && !connection.ProbeMismatchWarned)
        {
            // Still counted: the stream answered. Said once per stream, not every period.
            connection.ProbeMismatchWarned = true;
            Log.ProbeReplyMismatch(_logger, connection.NodeId, reply.ServerNumber, reply.Port, identity.ServerNumber, identity.Port);
        }

        var outcome = _nodes.RecordProbeReply(connection.NodeId, connection.Id, reply.Sequence, NodeTable.FromWire(reply.Survival));
        if (outcome != ProbeReplyOutcome.Accepted)
        {
            Log.ProbeReplyIgnored(_logger, connection.NodeId, reply.Sequence, outcome.ToString());
        }
    }

    private async Task WriteOutboxAsync(AgentConnection connection, IServerStreamWriter<AggregatorMessage> responseStream, CancellationTokenSource streamDone)
    {
        try
        {
            await foreach (var message in connection.ReadAllAsync(streamDone.Token))
            {
                if (message.KindCase == AggregatorMessage.KindOneofCase.Command)
                {
                    // No command leaves a leader that is deposed or past what its last renewed lease lets it act for;
                    // every other carries the term it is sent in (an agent that has accepted a later one refuses it).
                    if (!_leadership.Acting(_time))
                    {
                        connection.Abort("this aggregator is no longer the leader");
                        return;
                    }

                    message.Command.Term = (ulong)_leadership.Term;
                }

                await responseStream.WriteAsync(message, streamDone.Token);
            }
        }
        catch (OperationCanceledException) when (streamDone.IsCancellationRequested)
        {
        }
        catch (InvalidOperationException ex)
        {
            // The response stream is already complete: the call ended under us.
            Log.StreamBroken(_logger, connection.NodeId, ex.Message);
        }
        catch (IOException ex)
        {
            Log.StreamBroken(_logger, connection.NodeId, ex.Message);
        }
        finally
        {
            // Outbox closed (the node reconnected on a newer stream) or writing failed: end this stream.
            await streamDone.CancelAsync();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1901, EventName = "ProbeReplyMismatch", Level = LogLevel.Warning,
            Message = "Node '{NodeId}' answered a survival probe as server number {ServerNumber}, port {Port}, but its Hello said server number {HelloServerNumber}, port {HelloPort}; the answer still counts.")]
        public static partial void ProbeReplyMismatch(ILogger logger, string nodeId, uint serverNumber, uint port, int helloServerNumber, int helloPort);

        [LoggerMessage(EventId = 1902, EventName = "ProbeReplyRefused", Level = LogLevel.Warning,
            Message = "A reply of node '{NodeId}' to survival probe {Sequence} was refused: {Reason}.")]
        public static partial void ProbeReplyRefused(ILogger logger, string nodeId, ulong sequence, string reason);

        [LoggerMessage(EventId = 1903, EventName = "ProbeReplyIgnored", Level = LogLevel.Debug,
            Message = "A reply of node '{NodeId}' to survival probe {Sequence} was ignored: {Outcome}.")]
        public static partial void ProbeReplyIgnored(ILogger logger, string nodeId, ulong sequence, string outcome);

        [LoggerMessage(EventId = 1001, EventName = "NodeConnected", Level = LogLevel.Information,
            Message = "Node '{NodeId}' (cluster '{Cluster}', server number {ServerNumber}, port {Port}) connected from '{Peer}'.")]
        public static partial void NodeConnected(ILogger logger, string nodeId, string cluster, int serverNumber, int port, string peer);

        [LoggerMessage(EventId = 1002, EventName = "HelloRefused", Level = LogLevel.Warning,
            Message = "A Hello from '{Peer}' was refused on field '{Field}': {Reason}.")]
        public static partial void HelloRefused(ILogger logger, string peer, string field, string reason);

        [LoggerMessage(EventId = 1003, EventName = "NodeDisconnected", Level = LogLevel.Information,
            Message = "Node '{NodeId}' closed its stream.")]
        public static partial void NodeDisconnected(ILogger logger, string nodeId);

        [LoggerMessage(EventId = 1004, EventName = "StreamBroken", Level = LogLevel.Information,
            Message = "The stream of node '{NodeId}' broke: {Reason}")]
        public static partial void StreamBroken(ILogger logger, string nodeId, string reason);

        [LoggerMessage(EventId = 1005, EventName = "NodeBack", Level = LogLevel.Information,
            Message = "Node '{NodeId}' is heartbeating again (sequence {Sequence}) and is no longer lost.")]
        public static partial void NodeBack(ILogger logger, string nodeId, ulong sequence);

        [LoggerMessage(EventId = 1006, EventName = "UnknownAgentMessage", Level = LogLevel.Debug,
            Message = "Node '{NodeId}' sent a message of kind '{Kind}' this aggregator does not know; ignored.")]
        public static partial void UnknownMessage(ILogger logger, string nodeId, string kind);

        [LoggerMessage(EventId = 1007, EventName = "CommandSucceeded", Level = LogLevel.Information,
            Message = "Node '{NodeId}' carried out command '{CommandId}'.")]
        public static partial void CommandSucceeded(ILogger logger, string nodeId, string commandId);

        [LoggerMessage(EventId = 1009, EventName = "TelemetryRefused", Level = LogLevel.Warning,
            Message = "Telemetry from node '{NodeId}' was refused: {Reason}.")]
        public static partial void TelemetryRefused(ILogger logger, string nodeId, string reason);

        [LoggerMessage(EventId = 1010, EventName = "InstanceReportRefused", Level = LogLevel.Warning,
            Message = "An instance report from node '{NodeId}' for instance '{InstanceId}' was refused: a field is out of bounds.")]
        public static partial void ReportRefused(ILogger logger, string nodeId, string instanceId);

        [LoggerMessage(EventId = 1011, EventName = "SnapshotRefused", Level = LogLevel.Warning,
            Message = "A snapshot from node '{NodeId}' of instance '{InstanceId}' (version {Version}) was refused: {Reason}.")]
        public static partial void SnapshotRefused(ILogger logger, string nodeId, string instanceId, ulong version, string reason);

        [LoggerMessage(EventId = 1012, EventName = "StatusEventRefused", Level = LogLevel.Warning,
            Message = "A status message from node '{NodeId}' was refused: {Reason}.")]
        public static partial void StatusEventRefused(ILogger logger, string nodeId, string reason);

        [LoggerMessage(EventId = 1014, EventName = "StatusEventOfUndefinedChannel", Level = LogLevel.Debug,
            Message = "A status message from node '{NodeId}' on channel '{Channel}' was dropped: no such function or service is defined.")]
        public static partial void StatusEventUndefined(ILogger logger, string nodeId, string channel);

        [LoggerMessage(EventId = 1013, EventName = "ShimStatsRefused", Level = LogLevel.Warning,
            Message = "Shim counters from node '{NodeId}' were refused: {Reason}.")]
        public static partial void ShimStatsRefused(ILogger logger, string nodeId, string reason);

        [LoggerMessage(EventId = 1016, EventName = "AgentStreamAborted", Level = LogLevel.Warning,
            Message = "The stream of node '{NodeId}' was aborted: {Reason}. The node counts as disconnected until it connects again.")]
        public static partial void StreamAborted(ILogger logger, string nodeId, string reason);

        [LoggerMessage(EventId = 1017, EventName = "AgentMessageMalformed", Level = LogLevel.Warning,
            Message = "The stream from '{Peer}' (node '{NodeId}') was ended: a message on it is not a valid agent message: {Reason}")]
        public static partial void MessageMalformed(ILogger logger, string peer, string nodeId, string reason);

        [LoggerMessage(EventId = 1008, EventName = "CommandFailed", Level = LogLevel.Warning,
            Message = "Node '{NodeId}' did not carry out command '{CommandId}': {Error}")]
        public static partial void CommandFailed(ILogger logger, string nodeId, string commandId, string error);
    }
}
