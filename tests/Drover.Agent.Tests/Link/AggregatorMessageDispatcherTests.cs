using Drover.Agent.Configuration;
using Drover.Agent.Events;
using Drover.Agent.Heartbeats;
using Drover.Agent.Instances;
using Drover.Agent.Link;
using Drover.Agent.LocalSocket;
using Drover.Agent.Shims;
using Drover.Agent.Tests.Events;
using Drover.Agent.Tests.Instances;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Agent.Tests.Link;

public sealed class AggregatorMessageDispatcherTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"drover-dispatch-{Guid.NewGuid():N}");
    private readonly FakeLink _link = new();
    private readonly NodeState _state;
    private readonly LeaderTermMemory _leaders;
    private readonly AggregatorMessageDispatcher _dispatcher;

    public AggregatorMessageDispatcherTests()
    {
        var time = new FakeTimeProvider();
        var options = new AgentOptions { ServerNumber = 5, Port = 7415, StateDirectory = _directory, Runtimes = TestRuntimes.Allowlist() };
        _state = new NodeState(time, options.ServerNumber, options.Port, TimeSpan.FromSeconds(1));
        var staging = new RestoreStaging(options, NullLogger<RestoreStaging>.Instance);
        _leaders = new LeaderTermMemory(options, NullLogger<LeaderTermMemory>.Instance);
        var instances = new InstanceManager(options, new NodeHello("node-1", options), new InstanceTokens(), _link.Outbox, staging, time, NullLoggerFactory.Instance);

        // Never started: a probe must be answered without the command loop running.
        _dispatcher = new AggregatorMessageDispatcher(
            _state,
            instances,
            new StateCommitter(instances, _link.Outbox, new StatusEventPublisher(_link.Outbox, NullLogger<StatusEventPublisher>.Instance), options, time, NullLogger<StateCommitter>.Instance),
            staging,
            new ServiceRouteTables(NullLogger<ServiceRouteTables>.Instance),
            _link.Outbox,
            new EventRelay(_link.Outbox, NullLogger<EventRelay>.Instance),
            _leaders,
            NullLogger<AggregatorMessageDispatcher>.Instance);
    }

    public void Dispose()
    {
        _dispatcher.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public void Dispatch_SurvivalProbe_AnswersAtOnceWithServerNumberPortAndState()
    {
        _link.Connect();
        _link.Drain();

        _dispatcher.Dispatch(new AggregatorMessage { SurvivalProbe = new SurvivalProbe { Sequence = 42 } });

        var reply = Assert.Single(_link.Drain());
        Assert.Equal(
            new ProbeReply { Sequence = 42, ServerNumber = 5, Port = 7415, Survival = SurvivalState.Alive },
            reply.ProbeReply);
    }

    [Fact]
    public void Dispatch_SurvivalProbeWhileDraining_ReportsDraining()
    {
        _link.Connect();
        _link.Drain();
        _state.SetDraining(true);

        _dispatcher.Dispatch(new AggregatorMessage { SurvivalProbe = new SurvivalProbe { Sequence = 1 } });

        Assert.Equal(SurvivalState.Draining, Assert.Single(_link.Drain()).ProbeReply.Survival);
    }

    [Fact]
    public void Dispatch_SurvivalProbeWithNoStreamOpen_IsDroppedWithoutThrowing()
    {
        _dispatcher.Dispatch(new AggregatorMessage { SurvivalProbe = new SurvivalProbe { Sequence = 1 } });

        _link.Connect();
        Assert.Empty(_link.Drain());
    }

    [Fact]
    public void Dispatch_SurvivalProbeWithFullOutbox_IsDroppedWithoutBlocking()
    {
        _link.Connect();
        while (_link.Outbox.TrySend(new AgentMessage { Heartbeat = new Heartbeat() }))
        {
        }

        _dispatcher.Dispatch(new AggregatorMessage { SurvivalProbe = new SurvivalProbe { Sequence = 9 } });

        Assert.DoesNotContain(_link.Drain(), m => m.KindCase == AgentMessage.KindOneofCase.ProbeReply);
    }

    [Theory]
    [InlineData(4UL, false)] // a deposed leader's
    [InlineData(5UL, true)] // the kept leader's
    [InlineData(6UL, true)] // a newer leader's, whose Welcome this stream has not seen: not refused
    [InlineData(0UL, true)] // an aggregator older than terms
    public async Task Execute_CommandTermAgainstKeptTerm5_CarriedOutUnlessOlder(ulong term, bool carriedOut)
    {
        _leaders.Offer(new LeaderTerm { StoreId = "store-a", Term = 5 });
        _link.Connect();
        _link.Drain();
        await _dispatcher.StartAsync(CancellationToken.None);

        _dispatcher.Dispatch(new AggregatorMessage { Command = new Command { CommandId = "c-1", Term = term, SetDraining = new SetDraining { Draining = true } } });

        var result = (await _link.NextAsync()).CommandResult;
        await _dispatcher.StopAsync(CancellationToken.None);
        Assert.Equal("c-1", result.CommandId);
        Assert.Equal(carriedOut, result.Ok);
        Assert.Equal(carriedOut ? SurvivalState.Draining : SurvivalState.Alive, _state.Survival);
        if (!carriedOut)
        {
            Assert.Contains("deposed leader", result.Error, StringComparison.Ordinal);
            Assert.Contains("term 4", result.Error, StringComparison.Ordinal);
            Assert.Contains("term 5", result.Error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Execute_CommandQueuedByALeaderOfAStoreLeftSince_IsRefusedThoughItsTermIsHigher()
    {
        _leaders.Offer(new LeaderTerm { StoreId = "store-a", Term = 9 });
        _link.Connect();
        _link.Drain();

        // Queued on store a's stream; before its turn comes the agent follows a new store, whose terms start again.
        _dispatcher.Dispatch(new AggregatorMessage { Command = new Command { CommandId = "c-1", Term = 9, SetDraining = new SetDraining { Draining = true } } });
        _leaders.Offer(new LeaderTerm { StoreId = "store-b", Term = 2 });
        await _dispatcher.StartAsync(CancellationToken.None);

        var result = (await _link.NextAsync()).CommandResult;
        await _dispatcher.StopAsync(CancellationToken.None);
        Assert.False(result.Ok);
        Assert.Contains("store 'store-a'", result.Error, StringComparison.Ordinal);
        Assert.Contains("term 2 of store 'store-b'", result.Error, StringComparison.Ordinal);
        Assert.Equal(SurvivalState.Alive, _state.Survival);
    }

    [Fact]
    public async Task Execute_CommandWithTermAndNoneKept_IsCarriedOut()
    {
        _link.Connect();
        _link.Drain();
        await _dispatcher.StartAsync(CancellationToken.None);

        _dispatcher.Dispatch(new AggregatorMessage { Command = new Command { CommandId = "c-1", Term = 3, SetDraining = new SetDraining { Draining = true } } });

        var result = (await _link.NextAsync()).CommandResult;
        await _dispatcher.StopAsync(CancellationToken.None);
        Assert.True(result.Ok, result.Error);
        Assert.Equal(SurvivalState.Draining, _state.Survival);
    }
}
