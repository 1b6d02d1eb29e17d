using Drover.Aggregator.Link;
using Drover.Protocol.V1;
using Microsoft.Extensions.Time.Testing;

namespace Drover.Aggregator.Tests.Link;

public class AgentConnectionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static AggregatorMessage Probe(ulong sequence) => new() { SurvivalProbe = new SurvivalProbe { Sequence = sequence } };

    private static AggregatorMessage Chunk(uint index) => new() { RestoreChunk = new StateChunk { Index = index } };

    private static string Name(AggregatorMessage m) => m.KindCase switch
    {
        AggregatorMessage.KindOneofCase.Welcome => "welcome",
        AggregatorMessage.KindOneofCase.SurvivalProbe => $"probe{m.SurvivalProbe.Sequence}",
        AggregatorMessage.KindOneofCase.RestoreChunk => $"chunk{m.RestoreChunk.Index}",
        _ => m.KindCase.ToString(),
    };

    private static async Task<List<string>> ReadAllAsync(AgentConnection connection)
    {
        var names = new List<string>();
        await foreach (var message in connection.ReadAllAsync(CancellationToken.None).WithCancellation(CancellationToken.None))
        {
            names.Add(Name(message));
        }

        return names;
    }

    [Fact]
    public async Task ReadAllAsync_ProbesQueuedBehindBulk_AreWrittenFirstButNeverBeforeWelcome()
    {
        var connection = new AgentConnection("a", Guid.NewGuid());
        Assert.True(connection.TrySend(new AggregatorMessage { Welcome = new Welcome() }));
        Assert.True(connection.TrySend(Chunk(0)));
        Assert.True(connection.TrySend(Chunk(1)));
        Assert.True(connection.TrySendUrgent(Probe(1)));
        connection.Complete();

        var written = await ReadAllAsync(connection).WaitAsync(Timeout);

        Assert.Equal(["welcome", "probe1", "chunk0", "chunk1"], written);
    }

    [Fact]
    public async Task ReadAllAsync_ProbeWhileIdle_WakesTheWriter()
    {
        var connection = new AgentConnection("a", Guid.NewGuid());
        connection.TrySend(new AggregatorMessage { Welcome = new Welcome() });
        await using var reader = connection.ReadAllAsync(CancellationToken.None).GetAsyncEnumerator();
        Assert.True(await reader.MoveNextAsync().AsTask().WaitAsync(Timeout));

        var next = reader.MoveNextAsync().AsTask();
        connection.TrySendUrgent(Probe(7));

        Assert.True(await next.WaitAsync(Timeout));
        Assert.Equal("probe7", Name(reader.Current));
        var ordinary = reader.MoveNextAsync().AsTask();
        connection.TrySend(Chunk(3));
        Assert.True(await ordinary.WaitAsync(Timeout));
        Assert.Equal("chunk3", Name(reader.Current));
        connection.Complete();
        Assert.False(await reader.MoveNextAsync().AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task ReadAllAsync_CompletedBeforeAnyMessage_EndsAtOnce()
    {
        var connection = new AgentConnection("a", Guid.NewGuid());
        connection.TrySendUrgent(Probe(1));
        connection.Complete();

        Assert.Empty(await ReadAllAsync(connection).WaitAsync(Timeout));
    }

    private static AgentConnection Full(FakeTimeProvider time)
    {
        var connection = new AgentConnection("a", Guid.NewGuid(), TimeSpan.FromSeconds(5), time);
        for (var i = 0; i < AgentConnection.OutboxCapacity; i++)
        {
            Assert.True(connection.TrySend(Chunk((uint)i)));
        }

        return connection;
    }

    [Fact]
    public async Task SendAsync_OutboxFullPastTheSendTimeout_AbortsTheStream()
    {
        var time = new FakeTimeProvider();
        var connection = Full(time);

        var send = connection.SendAsync(Chunk(9999), CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(4999));
        Assert.False(send.IsCompleted);
        Assert.False(connection.Aborted.IsCancellationRequested);
        time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.False(await send.WaitAsync(Timeout));
        Assert.True(connection.Aborted.IsCancellationRequested);
        Assert.Contains("not reading", connection.AbortReason, StringComparison.Ordinal);
        Assert.False(connection.TrySend(Chunk(1)));
        Assert.False(await connection.SendAsync(Chunk(2), CancellationToken.None).WaitAsync(Timeout));
    }

    [Fact]
    public async Task SendAsync_RoomBeforeTheSendTimeout_SendsAndKeepsTheStream()
    {
        var time = new FakeTimeProvider();
        var connection = Full(time);

        var send = connection.SendAsync(Chunk(9999), CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(4000));
        Assert.True(connection.Outbox.TryRead(out _));

        Assert.True(await send.WaitAsync(Timeout));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.False(connection.Aborted.IsCancellationRequested);
        Assert.Null(connection.AbortReason);
    }

    [Fact]
    public async Task SendAsync_CallerCancelsWhileFull_ReturnsWithoutAborting()
    {
        var time = new FakeTimeProvider();
        var connection = Full(time);
        using var cancel = new CancellationTokenSource();

        var send = connection.SendAsync(Chunk(9999), cancel.Token);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send.WaitAsync(Timeout));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.False(connection.Aborted.IsCancellationRequested);
    }

    [Fact]
    public void Abort_Twice_KeepsTheFirstReason()
    {
        var connection = new AgentConnection("a", Guid.NewGuid());

        connection.Abort("first");
        connection.Abort("second");

        Assert.Equal("first", connection.AbortReason);
        Assert.True(connection.Outbox.Completion.IsCompleted);
    }
}
