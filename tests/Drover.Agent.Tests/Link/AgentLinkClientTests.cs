using Drover.Agent.Configuration;
using Drover.Agent.Events;
using Drover.Agent.Heartbeats;
using Drover.Agent.Instances;
using Drover.Agent.Link;
using Drover.Agent.LocalSocket;
using Drover.Agent.Shims;
using Drover.Agent.Telemetry;
using Drover.Agent.Tests.Instances;
using Drover.Agent.Tests.Telemetry;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Drover.Agent.Tests.Link;

/// <summary>
/// The link's handshake with several aggregators: real streams to in-process fake aggregators, on a fake
/// clock that moves only when a test moves it, so "at once" means no backoff delay could have passed; a test
/// moves it only to fire a backoff delay the client has armed, by exactly that delay.
/// </summary>
public sealed class AgentLinkClientTests : IAsyncLifetime
{
    private const int Connected = 2101;
    private const int Reconnecting = 2104;
    private const int Redirected = 2110;
    private const int NoLeader = 2111;
    private const int RedirectedAgain = 2112;
    private const int DeposedLeader = 2114;
    private const int StoreChanged = 2115;

    /// <summary>
    /// What the clock watches: the reconnect backoff's delays, at most its maximum with the jitter on top (the Welcome
    /// deadline, 600 s here, is far longer and never fired).
    /// </summary>
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMilliseconds(new AgentOptions().ReconnectMaxBackoffMs * (1 + ReconnectBackoff.Jitter));

    private readonly string _directory = Directory.CreateTempSubdirectory("drover-link-").FullName;
    private readonly TimerWatchingTimeProvider _time = new(due => due <= MaxBackoff);
    private readonly CapturingLogger<AgentLinkClient> _logger;
    private readonly List<FakeAggregator> _aggregators = [];
    private AgentLinkClient? _client;

    public AgentLinkClientTests(ITestOutputHelper output) => _logger = new CapturingLogger<AgentLinkClient>(output);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_client is not null)
        {
            using var bound = new CancellationTokenSource(FakeAggregator.Bound);
            await _client.StopAsync(bound.Token);
            _client.Dispose();
        }

        foreach (var aggregator in _aggregators)
        {
            await aggregator.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Redirect_NamingTheLeader_DialsItAtOnceWithoutAWarning()
    {
        var leader = await StartAggregatorAsync(_ => FakeAggregator.Welcome("agg-2", new LeaderTerm { StoreId = "s", Term = 3 }));
        var follower = await StartAggregatorAsync(_ => FakeAggregator.Redirect(leader.Address, "agg-2"));
        var leaders = Leaders();

        await StartClientAsync(leaders, follower.Address);
        await _logger.WaitForEventAsync(Connected);

        Assert.Single(follower.Hellos);
        Assert.Single(leader.Hellos);
        Assert.Contains(_logger.Entries, e => e.EventId == Redirected && e.Level == LogLevel.Information && e.Message.Contains(leader.Address, StringComparison.Ordinal));
        Assert.DoesNotContain(_logger.Entries, e => e.Level >= LogLevel.Warning);
        Assert.DoesNotContain(_logger.Entries, e => e.EventId == Reconnecting);
        Assert.Equal(new LeaderTerm { StoreId = "s", Term = 3 }, leaders.Kept);
    }

    [Fact]
    public async Task Redirect_FromTheLeaderItNamed_IsNotFollowedAgainButWaitsTheBackoff()
    {
        var first = await StartAggregatorAsync(_ => FakeAggregator.Redirect(""));
        var second = await StartAggregatorAsync(_ => FakeAggregator.Redirect(first.Address));
        var dialledAgain = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        first.Answer = _ =>
        {
            // The Hello is kept before it is answered.
            if (first.Hellos.Count == 2)
            {
                dialledAgain.TrySetResult();
            }

            return FakeAggregator.Redirect(second.Address);
        };

        await StartClientAsync(Leaders(), first.Address);
        await _logger.WaitForEventAsync(RedirectedAgain);
        await _logger.WaitForEventAsync(Reconnecting);

        Assert.Single(first.Hellos);
        Assert.Single(second.Hellos);
        await AdvanceUntilAsync(dialledAgain.Task.WaitAsync(FakeAggregator.Bound), "the agent dialled its configured address again");
        Assert.Equal(2, first.Hellos.Count);
        Assert.DoesNotContain(_logger.Entries, e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task Redirect_NamingNoLeader_WaitsTheBackoffThenTriesTheNextAddress()
    {
        var follower = await StartAggregatorAsync(_ => FakeAggregator.Redirect(""));
        var next = await StartAggregatorAsync(_ => FakeAggregator.Welcome("agg-old"));

        await StartClientAsync(Leaders(), follower.Address, next.Address);
        await _logger.WaitForEventAsync(NoLeader);
        await _logger.WaitForEventAsync(Reconnecting);

        Assert.Empty(next.Hellos);
        Assert.Contains(next.Address, _logger.Entries.Single(e => e.EventId == Reconnecting).Message, StringComparison.Ordinal);
        await AdvanceUntilAsync(_logger.WaitForEventAsync(Connected), "the agent connected to the next address");
        Assert.Single(next.Hellos);
        Assert.DoesNotContain(_logger.Entries, e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task Redirect_NamingNoLeaderAgainAndAgain_TheDelayStaysTheInitialBackoff()
    {
        // Both followers, while an election is under way: the agent keeps asking at the initial backoff (200 ms
        // ± 20 %), so it reaches the new leader soon after it is elected, not a grown backoff later.
        var first = await StartAggregatorAsync(_ => FakeAggregator.Redirect(""));
        var second = await StartAggregatorAsync(_ => FakeAggregator.Redirect(""));

        await StartClientAsync(Leaders(), first.Address, second.Address);
        await AdvanceUntilAsync(_logger.WaitForEventCountAsync(Reconnecting, 6), "the agent asked six times");

        var delays = _logger.Entries.Where(e => e.EventId == Reconnecting)
            .Select(e => int.Parse(e.Message.Split(" in ")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.All(delays, d => Assert.InRange(d, 160, 240));
        Assert.True(first.Hellos.Count >= 3 && second.Hellos.Count >= 3, $"hellos: {first.Hellos.Count} and {second.Hellos.Count}");
    }

    [Fact]
    public async Task Welcome_OfADeposedLeader_IsRefusedAndTheNextAddressTried()
    {
        var leaders = Leaders();
        leaders.Offer(new LeaderTerm { StoreId = "s", Term = 5 });
        var deposed = await StartAggregatorAsync(_ => FakeAggregator.Welcome("agg-1", new LeaderTerm { StoreId = "s", Term = 4 }));
        var current = await StartAggregatorAsync(_ => FakeAggregator.Welcome("agg-2", new LeaderTerm { StoreId = "s", Term = 5 }));

        await StartClientAsync(leaders, deposed.Address, current.Address);
        await _logger.WaitForEventAsync(DeposedLeader);

        var refusal = _logger.Entries.Single(e => e.EventId == DeposedLeader);
        Assert.Equal(LogLevel.Error, refusal.Level);
        Assert.Contains("term 4", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("term 5", refusal.Message, StringComparison.Ordinal);
        Assert.Equal(new LeaderTerm { StoreId = "s", Term = 5 }, Assert.Single(deposed.Hellos).KnownLeader);
        Assert.DoesNotContain(_logger.Entries, e => e.EventId == Connected);

        await AdvanceUntilAsync(_logger.WaitForEventAsync(Connected), "the agent connected to the current leader");
        Assert.Contains(current.Address, _logger.Entries.Single(e => e.EventId == Connected).Message, StringComparison.Ordinal);
        Assert.Equal(new LeaderTerm { StoreId = "s", Term = 5 }, leaders.Kept);
    }

    [Fact]
    public async Task Welcome_OfAnotherStore_IsAcceptedAndItsTermKept()
    {
        var leaders = Leaders();
        leaders.Offer(new LeaderTerm { StoreId = "old-store", Term = 9 });
        var aggregator = await StartAggregatorAsync(_ => FakeAggregator.Welcome("agg-1", new LeaderTerm { StoreId = "new-store", Term = 1 }));

        await StartClientAsync(leaders, aggregator.Address);
        await _logger.WaitForEventAsync(Connected);

        Assert.Contains(_logger.Entries, e => e.EventId == StoreChanged && e.Level == LogLevel.Information);
        Assert.Equal(new LeaderTerm { StoreId = "new-store", Term = 1 }, Leaders().Kept);
    }

    private async Task<FakeAggregator> StartAggregatorAsync(Func<Hello, AggregatorMessage> answer)
    {
        var aggregator = await FakeAggregator.StartAsync(answer);
        _aggregators.Add(aggregator);
        return aggregator;
    }

    private LeaderTermMemory Leaders() => new(new AgentOptions { StateDirectory = _directory }, NullLogger<LeaderTermMemory>.Instance);

    private async Task StartClientAsync(LeaderTermMemory leaders, params string[] aggregators)
    {
        var options = new AgentOptions
        {
            ServerNumber = 1,
            Port = 7411,
            Insecure = true,
            StateDirectory = _directory,
            Aggregators = [.. aggregators],
            // On the fake clock: only the backoff's delays are meant to be waited, and only when a test moves the clock.
            ConnectTimeoutMs = 600_000,
            Runtimes = TestRuntimes.Allowlist(),
        };
        var outbox = new AgentOutbox();
        var state = new NodeState(_time, options.ServerNumber, options.Port, TimeSpan.FromSeconds(1));
        var hello = new NodeHello("node-1", options);
        var staging = new RestoreStaging(options, NullLogger<RestoreStaging>.Instance);
        var instances = new InstanceManager(options, hello, new InstanceTokens(), outbox, staging, _time, NullLoggerFactory.Instance);
        var dispatcher = new AggregatorMessageDispatcher(
            state,
            instances,
            new StateCommitter(instances, outbox, new StatusEventPublisher(outbox, NullLogger<StatusEventPublisher>.Instance), options, _time, NullLogger<StateCommitter>.Instance),
            staging,
            new ServiceRouteTables(NullLogger<ServiceRouteTables>.Instance),
            outbox,
            new EventRelay(outbox, NullLogger<EventRelay>.Instance),
            leaders,
            NullLogger<AggregatorMessageDispatcher>.Instance);
        var gpus = new GpuTelemetry(new InMemoryNvml(), new GpuHealthBoard(_time, TimeSpan.FromMinutes(5)), new ReportedGpuWork(), options, _time, NullLogger<GpuTelemetry>.Instance);
        _client = new AgentLinkClient(options, hello, state, gpus, outbox, dispatcher, leaders, _time, new Random(7), _logger);
        await _client.StartAsync(CancellationToken.None);
    }

    /// <summary>
    /// Fires the client's backoff delays until <paramref name="reached"/> completes: each time the client has armed its
    /// next delay (its timer is made on the fake clock), the clock moves by exactly that delay, so the client goes on
    /// however slow the host is, and no delay passes that the client did not wait. The waits' bounds only fail the
    /// test instead of hanging it.
    /// </summary>
    private async Task AdvanceUntilAsync(Task reached, string what)
    {
        using var done = new CancellationTokenSource();
        try
        {
            while (!reached.IsCompleted)
            {
                var armed = _time.NextTimerAsync(done.Token);
                if (await Task.WhenAny(reached, armed) == armed)
                {
                    _time.Advance(await armed);
                }
            }

            await reached;
        }
        catch (TimeoutException ex)
        {
            Assert.Fail($"Timed out waiting until {what}: {ex.Message}");
        }
        finally
        {
            // The wait for a further delay, left when the condition was reached first.
            await done.CancelAsync();
        }
    }
}
