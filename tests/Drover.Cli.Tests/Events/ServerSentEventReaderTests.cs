using Drover.Cli.Events;

namespace Drover.Cli.Tests.Events;

public sealed class ServerSentEventReaderTests
{
    private static async Task<List<ServerSentEvent>> ReadAllAsync(string stream)
    {
        var reader = new ServerSentEventReader(new StringReader(stream));
        var events = new List<ServerSentEvent>();
        while (await reader.ReadAsync(CancellationToken.None) is { } item)
        {
            events.Add(item);
        }

        return events;
    }

    [Fact]
    public async Task Read_AggregatorStream_IdEventAndData()
    {
        var events = await ReadAllAsync(
            """
            id: function/counter:1
            event: accepted
            data: {"channel":"function/counter","sequence":1}

            : keep-alive

            id: function/counter:2,cluster/c1:4
            event: cluster-health
            data: {"cluster":"c1"}


            """);

        Assert.Equal(
            [
                new ServerSentEvent("function/counter:1", "accepted", """{"channel":"function/counter","sequence":1}"""),
                new ServerSentEvent("function/counter:2,cluster/c1:4", "cluster-health", """{"cluster":"c1"}"""),
            ],
            events);
    }

    [Fact]
    public async Task Read_SeveralDataLines_JoinedWithNewlines()
        => Assert.Equal("a\nb", Assert.Single(await ReadAllAsync("data: a\ndata:b\n\n")).Data);

    [Fact]
    public async Task Read_NoEventName_IsMessage()
        => Assert.Equal("message", Assert.Single(await ReadAllAsync("data: x\n\n")).Event);

    [Fact]
    public async Task Read_EventWithoutData_NotDispatched()
        => Assert.Equal(["x"], (await ReadAllAsync("event: nothing\n\nevent: e\ndata: x\n\n")).Select(e => e.Data));

    [Fact]
    public async Task Read_StreamCutMidEvent_ThatEventIsLost()
        => Assert.Equal(["1"], (await ReadAllAsync("data: 1\n\ndata: 2\n")).Select(e => e.Data));

    [Fact]
    public async Task Read_CarriageReturns_Accepted()
        => Assert.Equal("x", Assert.Single(await ReadAllAsync("event: e\r\ndata: x\r\n\r\n")).Data);
}
