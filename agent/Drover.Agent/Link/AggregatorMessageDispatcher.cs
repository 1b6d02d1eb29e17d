using System.Threading.Channels;
using Drover.Agent.Events;
using Drover.Agent.Heartbeats;
using Drover.Agent.Instances;
using Drover.Agent.Shims;
using Drover.Protocol.V1;

namespace Drover.Agent.Link;

/// <summary>
/// Hands what the aggregator sends to the feature it is for. Commands are carried out one at a time,
/// in arrival order, off the link's read loop (stopping an instance can take its grace period), and
/// each is answered with a CommandResult. A command of a leader deposed since (a lower term than the
/// agent has accepted) is answered not ok without being carried out.
/// </summary>
internal sealed partial class AggregatorMessageDispatcher : BackgroundService
{
    private readonly NodeState _state;
    private readonly InstanceManager _instances;
    private readonly StateCommitter _committer;
    private readonly RestoreStaging _staging;
    private readonly ServiceRouteTables _routes;
    private readonly AgentOutbox _outbox;
    private readonly EventRelay _events;
    private readonly LeaderTermMemory _leaders;
    private readonly ILogger<AggregatorMessageDispatcher> _logger;
    // Each command with the store kept when it arrived: the store of the stream's Welcome.
    private readonly Channel<(Command Command, string? Store)> _commands =
        Channel.CreateBounded<(Command, string?)>(new BoundedChannelOptions(1024) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    public AggregatorMessageDispatcher(
        NodeState state,
        InstanceManager instances,
        StateCommitter committer,
        RestoreStaging staging,
        ServiceRouteTables routes,
        AgentOutbox outbox,
        EventRelay events,
        LeaderTermMemory leaders,
        ILogger<AggregatorMessageDispatcher> logger)
    {
        _state = state;
        _instances = instances;
        _committer = committer;
        _staging = staging;
        _routes = routes;
        _outbox = outbox;
        _events = events;
        _leaders = leaders;
        _logger = logger;
    }

    /// <summary>Called by the link's read loop for every message after Welcome; never blocks.</summary>
    public void Dispatch(AggregatorMessage message)
    {
        switch (message.KindCase)
        {
            case AggregatorMessage.KindOneofCase.Command:
                if (!_commands.Writer.TryWrite((message.Command, _leaders.Kept?.StoreId)))
                {
                    Answer(message.Command.CommandId, "the agent's command queue is full");
                }

                break;
            case AggregatorMessage.KindOneofCase.StateAck:
                _committer.Acknowledge(message.StateAck);
                break;
            case AggregatorMessage.KindOneofCase.RestoreChunk:
                _staging.Add(message.RestoreChunk);
                break;
            case AggregatorMessage.KindOneofCase.ChannelEvent:
                _events.Deliver(message.ChannelEvent);
                break;
            case AggregatorMessage.KindOneofCase.SurvivalProbe:
                // Answered here, on the read loop, not queued behind commands, and on the urgent lane
                // ahead of queued status messages and chunks: the round trip is what the aggregator
                // measures. A full outbox drops the answer; the aggregator sees the probe unanswered,
                // which is the truth about this stream.
                if (!_outbox.TrySendUrgent(new AgentMessage { ProbeReply = _state.ProbeReply(message.SurvivalProbe.Sequence) }))
                {
                    Log.ProbeReplyDropped(_logger, message.SurvivalProbe.Sequence);
                }

                break;
            default:
                Log.UnexpectedMessage(_logger, message.KindCase.ToString());
                break;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var (command, store) in _commands.Reader.ReadAllAsync(stoppingToken))
            {
                string? error;
                try
                {
                    error = await ExecuteAsync(command, store);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or InvalidDataException)
                {
                    error = ex.Message;
                }

                Answer(command.CommandId, error);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Carries out one command, which arrived while <paramref name="store"/> was kept; null when done, else why not.</summary>
    private async Task<string?> ExecuteAsync(Command command, string? store)
    {
        // Judged when the command's turn comes, not when it arrived: a Welcome of a newer term in between
        // (the stream broke, the agent found the new leader) deposes what the old leader had queued.
        var kept = _leaders.Kept;
        if (LeaderTermMemory.IsDeposed(kept, store, command.Term))
        {
            Log.DeposedCommand(_logger, command.CommandId, command.KindCase.ToString(), command.Term, store ?? "", kept!.Term, kept.StoreId);
            return $"command '{command.CommandId}' is of term {command.Term} of store '{store}', but this agent has accepted term {kept.Term} of store '{kept.StoreId}': it comes from a deposed leader and is not carried out";
        }

        switch (command.KindCase)
        {
            case Command.KindOneofCase.SetDraining:
                var draining = command.SetDraining.Draining;
                if (!_state.SetDraining(draining))
                {
                    return "the agent is stopping";
                }

                Log.DrainingSet(_logger, draining, command.CommandId);
                return null;
            case Command.KindOneofCase.StartInstance:
                return await _instances.StartAsync(command.StartInstance);
            case Command.KindOneofCase.StopInstance:
                return await _instances.StopAsync(command.StopInstance);
            case Command.KindOneofCase.RestoreState:
                return await _instances.RestoreAsync(command.RestoreState);
            case Command.KindOneofCase.SetServiceRoutes:
                return _routes.Apply(command.SetServiceRoutes);
            default:
                Log.UnknownCommand(_logger, command.KindCase.ToString(), command.CommandId);
                return $"this agent ({NodeHello.AgentVersion}) does not know command kind '{command.KindCase}'";
        }
    }

    private void Answer(string commandId, string? error)
        => _outbox.TrySend(new AgentMessage { CommandResult = new CommandResult { CommandId = commandId, Ok = error is null, Error = error ?? "" } });

    private static partial class Log
    {
        [LoggerMessage(EventId = 2119, EventName = "UnexpectedAggregatorMessage", Level = LogLevel.Warning,
            Message = "The aggregator sent an unexpected message of kind '{Kind}'; ignored.")]
        public static partial void UnexpectedMessage(ILogger logger, string kind);

        [LoggerMessage(EventId = 2108, EventName = "UnknownCommand", Level = LogLevel.Warning,
            Message = "Command '{CommandId}' of kind '{Kind}' is not known to this agent; answered not ok.")]
        public static partial void UnknownCommand(ILogger logger, string kind, string commandId);

        [LoggerMessage(EventId = 2109, EventName = "DrainingSet", Level = LogLevel.Information,
            Message = "Draining set to {Draining} by command '{CommandId}'.")]
        public static partial void DrainingSet(ILogger logger, bool draining, string commandId);

        [LoggerMessage(EventId = 2116, EventName = "DeposedLeaderCommandRefused", Level = LogLevel.Warning,
            Message = "Command '{CommandId}' of kind '{Kind}' is of term {Term} of store '{CommandStoreId}', but this agent has accepted term {KeptTerm} of store '{StoreId}' since: a deposed leader's; answered not ok.")]
        public static partial void DeposedCommand(ILogger logger, string commandId, string kind, ulong term, string commandStoreId, ulong keptTerm, string storeId);

        [LoggerMessage(EventId = 2911, EventName = "ProbeReplyDropped", Level = LogLevel.Debug,
            Message = "The answer to survival probe {Sequence} was not queued: no stream is open or its outbox is full.")]
        public static partial void ProbeReplyDropped(ILogger logger, ulong sequence);
    }
}
