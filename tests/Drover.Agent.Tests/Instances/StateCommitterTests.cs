using System.Formats.Tar;
using System.Net.Sockets;
using Drover.Agent.Configuration;
using Drover.Agent.Events;
using Drover.Agent.Instances;
using Drover.Agent.Link;
using Drover.Agent.LocalSocket;
using Drover.Agent.Tests.Events;
using Drover.Protocol.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Agent.Tests.Instances;

public sealed class StateCommitterTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly string _root = Directory.CreateTempSubdirectory("drover-commit-").FullName;
    private readonly FakeLink _link = new();
    private readonly RecordingSink _events = new();
    private readonly CapturingLogger<StateCommitter> _logger = new();
    private readonly InstanceManager _instances;
    private readonly StateCommitter _committer;

    public StateCommitterTests()
    {
        var options = new AgentOptions { ServerNumber = 1, StateDirectory = _root, MaxStateBytes = 1024 * 1024, Runtimes = TestRuntimes.Allowlist() };
        _instances = new InstanceManager(
            options,
            new NodeHello("node-1", options),
            new InstanceTokens(),
            _link.Outbox,
            new RestoreStaging(options, NullLogger<RestoreStaging>.Instance),
            TimeProvider.System,
            NullLoggerFactory.Instance);
        _committer = new StateCommitter(_instances, _link.Outbox, _events, options, new FakeTimeProvider(), _logger);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _instances.StopAsync(new StopInstance { InstanceId = "i-1", DeleteState = true }).WaitAsync(Bound);
        _committer.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task CommitNowAsync_StateOverTheLimit_RefusedWithoutFreezeSaidOnceAndCommittedOnceSmaller()
    {
        var supervisor = await StartAsync();
        var big = Path.Combine(supervisor.Directory.StatePath, "big");
        using (var file = File.Create(big))
        {
            file.SetLength(2 * 1024 * 1024);
        }

        var first = await _committer.CommitNowAsync("i-1", CancellationToken.None).WaitAsync(Bound);
        var second = await _committer.CommitNowAsync("i-1", CancellationToken.None).WaitAsync(Bound);

        Assert.False(first.Ok);
        Assert.Contains("maxStateBytes = 1048576", first.Error, StringComparison.Ordinal);
        Assert.False(second.Ok);
        Assert.Equal(0, supervisor.Freezes);
        var refusal = Assert.Single(_events.Published);
        Assert.Equal("function/f", refusal.Channel);
        Assert.Equal(RequestStatus.Failed, refusal.Status);
        Assert.Equal(StateCommitter.CommitMethod, refusal.Method);
        Assert.Equal("i-1", refusal.InstanceId);
        Assert.Equal("node-1", refusal.NodeId);
        Assert.Equal(first.Error, refusal.Reason);
        Assert.Single(_logger.Entries, e => e.EventId == 2904);

        // Smaller again: the next commit freezes and archives it (here it stops at the missing stream).
        File.Delete(big);
        var third = await _committer.CommitNowAsync("i-1", CancellationToken.None).WaitAsync(Bound);

        Assert.Equal("the agent is not connected to an aggregator", third.Error);
        Assert.Equal(1, supervisor.Freezes);
    }

    [Fact]
    public async Task CommitNowAsync_SocketInState_SkippedWarnedOnceAndTheRestCommitted()
    {
        var supervisor = await StartAsync();
        File.WriteAllText(Path.Combine(supervisor.Directory.StatePath, "count"), "1");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(Path.Combine(supervisor.Directory.StatePath, "app.sock")));
        _link.Connect();

        var (outcome, names) = await CommitAndAcknowledgeAsync();
        File.WriteAllText(Path.Combine(supervisor.Directory.StatePath, "count"), "2");
        var (again, _) = await CommitAndAcknowledgeAsync();

        Assert.Equal(new CommitOutcome(true, 1, null), outcome);
        Assert.Equal(["count"], names);
        Assert.Equal(new CommitOutcome(true, 2, null), again);
        var warning = Assert.Single(_logger.Entries, e => e.EventId == 2905);
        Assert.Contains("'app.sock' is a socket, which a snapshot cannot carry", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CommitNowAsync_FencedAck_CopyStoppedStateKeptNoVersionJump()
    {
        var supervisor = await StartAsync(epoch: 3);
        File.WriteAllText(Path.Combine(supervisor.Directory.StatePath, "count"), "1");
        _link.Connect();

        var commit = _committer.CommitNowAsync("i-1", CancellationToken.None);
        var chunks = await TakeChunksAsync();
        _committer.Acknowledge(new StateAck { InstanceId = "i-1", Version = 7, Sha256 = chunks[0].Sha256, Ok = false, Fenced = true, Error = "fenced: epoch 4 now" });
        var outcome = await commit.WaitAsync(Bound);

        Assert.All(chunks, c => Assert.Equal(3UL, c.Epoch));
        Assert.False(outcome.Ok);
        Assert.Equal("fenced: epoch 4 now", outcome.Error);
        Assert.Equal(0UL, supervisor.StateVersion);
        Assert.Single(_logger.Entries, e => e.EventId == 2906);
        await WaitUntilAsync(() => _instances.Find("i-1") is null);
        Assert.True(File.Exists(Path.Combine(supervisor.Directory.StatePath, "count")));
    }

    [Fact]
    public async Task StartAsync_WithEpoch_KeptInTheSpecOnDiskAndReported()
    {
        var supervisor = await StartAsync(epoch: 5);

        // What a restarted agent resumes the instance from.
        Assert.Equal(5UL, new InstanceDirectory(InstanceManager.InstancesRoot(new AgentOptions { StateDirectory = _root }), "i-1").ReadSpec().Epoch);
        Assert.Equal(5UL, supervisor.Report().Epoch);
    }

    [Fact]
    public async Task CommitNowAsync_StaleVersionAckNotFenced_InstanceKeepsRunningFromTheStoredVersion()
    {
        var supervisor = await StartAsync(epoch: 3);
        File.WriteAllText(Path.Combine(supervisor.Directory.StatePath, "count"), "1");
        _link.Connect();

        var commit = _committer.CommitNowAsync("i-1", CancellationToken.None);
        var chunks = await TakeChunksAsync();
        _committer.Acknowledge(new StateAck { InstanceId = "i-1", Version = 7, Sha256 = chunks[0].Sha256, Ok = false, Error = "not newer" });
        var outcome = await commit.WaitAsync(Bound);

        Assert.False(outcome.Ok);
        Assert.Equal(7UL, supervisor.StateVersion);
        Assert.Same(supervisor, _instances.Find("i-1"));
        Assert.DoesNotContain(_logger.Entries, e => e.EventId == 2906);
    }

    /// <summary>Rows: the epoch the copy runs under, the stop's below_epoch; whether it is stopped.</summary>
    [Theory]
    [InlineData(3UL, 4UL, true)] // a stale copy: the instance was assigned elsewhere under epoch 4
    [InlineData(5UL, 4UL, false)] // assigned here again (epoch 5) after the stop was decided
    [InlineData(4UL, 4UL, false)]
    [InlineData(5UL, 0UL, true)] // no epoch named: any copy
    public async Task StopAsync_BelowEpoch_StopsOnlyACopyOfALowerEpoch(ulong running, ulong belowEpoch, bool stopped)
    {
        var supervisor = await StartAsync(running);

        Assert.Null(await _instances.StopAsync(new StopInstance { InstanceId = "i-1", BelowEpoch = belowEpoch }).WaitAsync(Bound));

        Assert.Equal(stopped, _instances.Find("i-1") is null || !supervisor.IsRunning);
    }

    [Theory]
    [InlineData(10, false, false, 10)]
    [InlineData(10, true, false, 2)]
    [InlineData(1, true, false, 1)]
    [InlineData(10, true, true, 60)]
    [InlineData(1, true, true, 60)]
    [InlineData(300, true, true, 300)]
    public void NextCommitDelay_Outcome_WaitsAccordingly(int intervalSeconds, bool failed, bool tooLarge, int expectedSeconds)
    {
        Assert.Equal(
            TimeSpan.FromSeconds(expectedSeconds),
            StateCommitter.NextCommitDelay(TimeSpan.FromSeconds(intervalSeconds), failed, tooLarge));
    }

    private async Task<InstanceSupervisor> StartAsync(ulong epoch = 0)
    {
        var spec = new InstanceSpec
        {
            InstanceId = "i-1",
            Function = "f",
            Version = "v1",
            Process = new ProcessRuntime { Command = "/bin/sh", Args = { "-c", "exec sleep 1000" } },
            Epoch = epoch,
        };
        Assert.Null(await _instances.StartAsync(new StartInstance { Spec = spec }));
        var supervisor = _instances.Find("i-1")!;
        await WaitUntilAsync(() => supervisor.IsRunning && supervisor.CurrentPid != 0);
        return supervisor;
    }

    /// <summary>Takes the snapshot's chunks off the link as the stream would, acknowledges it, and lists the archive's entries.</summary>
    private async Task<(CommitOutcome Outcome, List<string> Names)> CommitAndAcknowledgeAsync()
    {
        var commit = _committer.CommitNowAsync("i-1", CancellationToken.None);
        var chunks = await TakeChunksAsync();
        _committer.Acknowledge(new StateAck { InstanceId = "i-1", Version = chunks[0].Version, Sha256 = chunks[0].Sha256, Ok = true });
        var outcome = await commit.WaitAsync(Bound);

        using var archive = new MemoryStream(chunks.SelectMany(c => c.Data.ToByteArray()).ToArray());
        using var reader = new TarReader(archive);
        var names = new List<string>();
        while (reader.GetNextEntry() is { } entry)
        {
            names.Add(entry.Name);
        }

        return (outcome, names);
    }

    /// <summary>Takes one whole snapshot's chunks off the link, as the stream would.</summary>
    private async Task<List<StateChunk>> TakeChunksAsync()
    {
        var chunks = new List<StateChunk>();
        await WaitUntilAsync(() =>
        {
            chunks.AddRange(_link.Drain().Where(m => m.KindCase == AgentMessage.KindOneofCase.StateChunk).Select(m => m.StateChunk));
            return chunks.Count > 0 && chunks.Count == chunks[0].Count;
        });
        return chunks;
    }

    /// <summary>
    /// Waits for what real processes and the committer's own tasks do (the committer's clock is fake and
    /// never advanced here): checked every 20 ms, at most <see cref="Bound"/> worth of checks, with no
    /// reading of the real clock.
    /// </summary>
    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        const int StepMs = 20;
        for (var step = 0; !condition(); step++)
        {
            Assert.True(step < Bound.TotalMilliseconds / StepMs, $"the condition did not hold within {Bound.TotalSeconds} s of checks");
            await Task.Delay(StepMs, CancellationToken.None);
        }
    }

    private sealed class RecordingSink : IStatusEventSink
    {
        private readonly List<StatusEvent> _published = [];

        public IReadOnlyList<StatusEvent> Published
        {
            get
            {
                lock (_published)
                {
                    return [.. _published];
                }
            }
        }

        public void Publish(StatusEvent statusEvent)
        {
            lock (_published)
            {
                _published.Add(statusEvent);
            }
        }
    }
}
