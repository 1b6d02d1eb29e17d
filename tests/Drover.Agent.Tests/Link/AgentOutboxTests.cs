using System.Threading.Channels;
using Drover.Agent.Link;
using Drover.Protocol.Events;
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
        await foreach (var outgoing in AgentOutbox.ReadInOrderAsync(ordinary.Reader, urgent.Reader, batchStatusEvents: false, CancellationToken.None).WithCancellation(CancellationToken.None))
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
        await using var reader = AgentOutbox.ReadInOrderAsync(ordinary.Reader, urgent.Reader, batchStatusEvents: false, CancellationToken.None).GetAsyncEnumerator();

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

    private static AgentMessage Status(string callId) => new() { StatusEvent = new StatusEvent { Channel = "function/f", CallId = callId } };

    private static async Task<List<OutgoingMessage>> ReadAllAsync(Channel<OutgoingMessage> ordinary, bool batch)
    {
        ordinary.Writer.TryComplete();
        var read = new List<OutgoingMessage>();
        await foreach (var outgoing in AgentOutbox.ReadInOrderAsync(ordinary.Reader, AgentOutbox.OpenUrgent().Reader, batch, CancellationToken.None))
        {
            read.Add(outgoing);
        }

        return read;
    }

    [Fact]
    public async Task ReadInOrderAsync_StatusMessagesQueuedTogether_GoAsOneInOrderBetweenTheOthers()
    {
        var outbox = new AgentOutbox();
        var ordinary = outbox.Open();
        outbox.Attach(ordinary);
        var signals = new List<TaskCompletionSource>();
        void Queue(AgentMessage message)
        {
            var written = new TaskCompletionSource();
            signals.Add(written);
            Assert.True(outbox.TrySend(new OutgoingMessage(message, written)));
        }

        Queue(Status("a"));
        Queue(Status("b"));
        Queue(Status("c"));
        Queue(Heartbeat(1));
        Queue(Status("d"));
        Queue(Heartbeat(2));

        var read = await ReadAllAsync(ordinary, batch: true);

        Assert.Equal(
            ["status a,b,c", "hb1", "status d", "hb2"],
            read.Select(o => o.Message.KindCase switch
            {
                AgentMessage.KindOneofCase.StatusEvents => "status " + string.Join(',', o.Message.StatusEvents.Events.Select(e => e.CallId)),
                AgentMessage.KindOneofCase.StatusEvent => "status " + o.Message.StatusEvent.CallId,
                _ => Name(o.Message),
            }));

        // Writing the batch signals every message it carries, and only those.
        foreach (var written in read[0].AllWritten)
        {
            written.TrySetResult();
        }

        Assert.Equal([true, true, true, false, false, false], signals.Select(s => s.Task.IsCompleted));
    }

    [Fact]
    public async Task ReadInOrderAsync_ManyStatusMessages_BatchesOfAtMostTheLimit()
    {
        var outbox = new AgentOutbox();
        var ordinary = outbox.Open();
        outbox.Attach(ordinary);
        var count = EventChannels.MaxEventsPerMessage + 10;
        for (var i = 0; i < count; i++)
        {
            Assert.True(outbox.TrySend(Status(i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        }

        var read = await ReadAllAsync(ordinary, batch: true);

        Assert.Equal([EventChannels.MaxEventsPerMessage, 10], read.Select(o => o.Message.StatusEvents.Events.Count));
        Assert.Equal(Enumerable.Range(0, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), read.SelectMany(o => o.Message.StatusEvents.Events).Select(e => e.CallId));
    }

    [Fact]
    public async Task ReadInOrderAsync_AggregatorWithoutBatches_EachStatusMessageAlone()
    {
        var outbox = new AgentOutbox();
        var ordinary = outbox.Open();
        outbox.Attach(ordinary);
        outbox.TrySend(Status("a"));
        outbox.TrySend(Status("b"));

        var read = await ReadAllAsync(ordinary, batch: false);

        Assert.Equal(["a", "b"], read.Select(o => o.Message.StatusEvent.CallId));
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
