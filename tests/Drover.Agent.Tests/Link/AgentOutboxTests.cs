using Drover.Agent.Link;
using Drover.Protocol.V1;

namespace Drover.Agent.Tests.Link;

public class AgentOutboxTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static AgentMessage Heartbeat(ulong sequence) => new() { Heartbeat = new Heartbeat { Sequence = sequence } };

    private static AgentMessage Reply(ulong sequence) => new() { ProbeReply = new ProbeReply { Sequence = sequence } };

    private static string Name(AgentMessage m) => m.KindCase == AgentMessage.KindOneofCase.ProbeReply ? $"reply{m.ProbeReply.Sequence}" : $"hb{m.Heartbeat.Sequence}";

    [Fact]
    public async Task TrySendUrgent_BehindQueuedMessages_IsWrittenFirst()
    {
        var outbox = new AgentOutbox();
        var ordinary = outbox.Open();
        var urgent = AgentOutbox.OpenUrgent();
        outbox.Attach(ordinary, urgent);
        outbox.TrySend(Heartbeat(1));
        outbox.TrySend(Heartbeat(2));
        Assert.True(outbox.TrySendUrgent(Reply(9)));
        ordinary.Writer.TryComplete();

        var written = new List<string>();
        await foreach (var outgoing in AgentOutbox.ReadInOrderAsync(ordinary.Reader, urgent.Reader, CancellationToken.None).WithCancellation(CancellationToken.None))
        {
            written.Add(Name(outgoing.Message));
        }

        Assert.Equal(["reply9", "hb1", "hb2"], written);
    }

    [Fact]
    public async Task ReadInOrderAsync_Idle_WakesForEitherLaneAndEndsWithTheOutbox()
    {
        var outbox = new AgentOutbox();
        var ordinary = outbox.Open();
        var urgent = AgentOutbox.OpenUrgent();
        outbox.Attach(ordinary, urgent);
        await using var reader = AgentOutbox.ReadInOrderAsync(ordinary.Reader, urgent.Reader, CancellationToken.None).GetAsyncEnumerator();

        var first = reader.MoveNextAsync().AsTask();
        outbox.TrySendUrgent(Reply(1));
        Assert.True(await first.WaitAsync(Timeout));
        Assert.Equal("reply1", Name(reader.Current.Message));

        var second = reader.MoveNextAsync().AsTask();
        outbox.TrySend(Heartbeat(1));
        Assert.True(await second.WaitAsync(Timeout));
        Assert.Equal("hb1", Name(reader.Current.Message));

        outbox.Detach(ordinary);
        Assert.False(await reader.MoveNextAsync().AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public void TrySendUrgent_NoUrgentLane_QueuesWithTheRest()
    {
        var outbox = new AgentOutbox();
        var ordinary = outbox.Open();
        outbox.Attach(ordinary);

        Assert.True(outbox.TrySendUrgent(Reply(3)));

        Assert.True(ordinary.Reader.TryRead(out var queued));
        Assert.Equal("reply3", Name(queued.Message));
    }

    [Fact]
    public void TrySendUrgent_NoStreamOpen_IsRefused()
    {
        var outbox = new AgentOutbox();
        var ordinary = outbox.Open();
        var urgent = AgentOutbox.OpenUrgent();
        outbox.Attach(ordinary, urgent);
        outbox.Detach(ordinary);

        Assert.False(outbox.TrySendUrgent(Reply(1)));
        Assert.False(urgent.Reader.TryRead(out _));
    }
}
